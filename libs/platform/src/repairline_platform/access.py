"""Who may call which route: the permission tables and the edge that enforces them.

Each service keeps one table, in code, of its permissions and the roles granting each
(`Permissions`); every route declares the one it needs with a short dependency,
`dependencies=[may("ticket.create")]`. The edge (`Edge`, an ASGI middleware) verifies
the bearer token of every call but the public paths (401 naming the reason when it is
missing or bad) and binds the caller for the whole request; the route's `Permission`
then answers 403 naming the permission when no role of the caller grants it, and
narrows the bound caller to the roles that let it in (`Principal.acting`), which the
views and commands scope by. A service with a route that declares no permission does
not start (`undeclared`).

Not behind a token: the probes (`/healthz`, `/readyz`), the API and event catalogues
(`/docs`, `/openapi.json`, `/asyncapi`, `/asyncapi.json`: contracts, no data) and
`/metrics` (counts and lags, no personal data; Prometheus scrapes it inside the
cluster, where the NetworkPolicy admits only the monitoring namespace).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Security
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from repairline_platform.auth import (
    ROLES,
    act_for_request,
    bound_principal,
    current_principal,
)
from repairline_platform.logging import get_logger
from repairline_platform.tokens import InvalidToken, Verifier

log = get_logger(__name__)

PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
        "/asyncapi",
        "/asyncapi.json",
        "/metrics",
    }
)
USER_ROLES = frozenset(ROLES) - {"system"}

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="An OAuth2 access token (JWT) from the network's OpenID Connect provider;"
    " locally, `repairline token --role <role>`.",
)


BEARER_TOKEN = Security(BEARER)


class Denied(Exception):
    """A valid caller without the route's permission (answered 403 naming it)."""

    def __init__(self, permission: str, roles: frozenset[str]) -> None:
        super().__init__(permission)
        self.permission = permission
        self.roles = roles


@dataclass(frozen=True)
class Permission:
    """A route's permission and the roles granting it. As the route's dependency it
    declares the bearer scheme in the OpenAPI, refuses a caller holding none of the
    roles (403) and narrows the caller bound for the request to those it holds."""

    name: str
    roles: frozenset[str]

    async def __call__(
        self, _credentials: HTTPAuthorizationCredentials | None = BEARER_TOKEN
    ) -> None:
        caller = current_principal()
        if not caller.roles & self.roles:
            log.info("request refused", permission=self.name, subject=caller.subject)
            raise Denied(self.name, self.roles)
        act_for_request(caller.acting(self.roles))


class Permissions:
    """One service's table: permission -> the roles granting it. `system` is the
    services' own role (reactions and timers) and no permission grants it."""

    def __init__(self, grants: Mapping[str, Iterable[str]]) -> None:
        self.grants = {name: frozenset(roles) for name, roles in grants.items()}
        for name, roles in self.grants.items():
            unknown = roles - USER_ROLES
            if unknown:
                raise ValueError(f"permission {name!r} names roles no user holds: {unknown}")

    def __call__(self, name: str) -> Any:
        """The dependency a route declares its permission with."""
        return Security(Permission(name, self.grants[name]), scopes=[name])


def permission_of(route: BaseRoute) -> Permission | None:
    """The permission a route declared, if any."""
    for dependency in getattr(route, "dependencies", ()):
        if isinstance(dependency.dependency, Permission):
            return dependency.dependency
    return None


class UndeclaredPermission(RuntimeError):
    """A route behind a token that names no permission: the service does not start."""


def undeclared(routes: Iterable[BaseRoute]) -> list[str]:
    """Routes (method and path) behind a token that declare no permission."""
    return [
        f"{','.join(sorted(route.methods or ()))} {route.path}"
        for route in routes
        if isinstance(route, APIRoute)
        and route.path not in PUBLIC_PATHS
        and permission_of(route) is None
    ]


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise InvalidToken("the Authorization header is not a bearer token")
            return token.strip()
    raise InvalidToken("no bearer token")


def unauthorized(reason: str) -> JSONResponse:
    quoted = ascii(reason)[1:-1].replace('"', "'")  # a header value: ASCII, no quotes
    return JSONResponse(
        status_code=401,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{quoted}"'},
        content={"error": "unauthorized", "detail": reason},
    )


def forbidden(denied: Denied) -> JSONResponse:
    return JSONResponse(
        status_code=403,
        content={
            "error": "forbidden",
            "detail": f"permission {denied.permission!r} is granted to"
            f" {', '.join(sorted(denied.roles))}; the token holds none of these roles",
            "permission": denied.permission,
        },
    )


class Edge:
    """Authenticates every call but the public paths and binds its caller for the
    request; the route's `Permission` then narrows it to the roles that let it in."""

    def __init__(self, app: ASGIApp, *, verifier: Verifier) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.verifier.principal(_bearer(scope))
        except InvalidToken as exc:
            log.info("request refused: no valid token", reason=exc.reason)
            await unauthorized(exc.reason)(scope, receive, send)
            return
        with bound_principal(principal):
            await self.app(scope, receive, send)


def install_handlers(app: Any) -> None:
    @app.exception_handler(Denied)
    async def _denied(_: Any, exc: Denied) -> JSONResponse:
        return forbidden(exc)


def document(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """Name each route's permission in its operation: `x-permission`, `x-roles`, the
    description and the 401/403 answers (the security requirement is FastAPI's)."""
    for route in routes:
        permission = permission_of(route)
        if permission is None or not isinstance(route, APIRoute):
            continue
        for method in route.methods or ():
            operation = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _describe(operation, permission)
    return schema


def _describe(operation: dict[str, Any], permission: Permission) -> None:
    roles = ", ".join(sorted(permission.roles))
    operation["x-permission"] = permission.name
    operation["x-roles"] = sorted(permission.roles)
    note = f"Requires permission `{permission.name}` (roles: {roles})."
    description = operation.get("description")
    operation["description"] = f"{description}\n\n{note}" if description else note
    responses = operation.setdefault("responses", {})
    responses.setdefault("401", {"description": "No valid bearer token (reason named)."})
    responses.setdefault("403", {"description": f"The token grants no role of: {roles}."})
