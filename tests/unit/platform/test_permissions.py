"""Every route of every service declares a permission, and each role gets in exactly
where its service's table grants it (403 naming the permission elsewhere).

The four apps are built in-process without their lifespan: the edge and the permission
check answer before any I/O, so nothing connects. A route that lets a role in answers
whatever its body, parameters or the unstarted runtime make of the call, never 401/403.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from repairline_billing.main import SPEC as BILLING
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_feedback.main import SPEC as FEEDBACK
from repairline_intake.main import SPEC as INTAKE
from repairline_platform.access import PUBLIC_PATHS, USER_ROLES, Permissions, UndeclaredPermission
from repairline_platform.auth import current_principal
from repairline_platform.runtime import PLATFORM, ServiceSpec, build_app
from tests.support.auth import bearer, token

SPECS = {spec.name: spec for spec in (INTAKE, DISPATCH, BILLING, FEEDBACK)}
TOKENS = {role: token(role) for role in sorted(USER_ROLES)}
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    return {name: build_app(spec) for name, spec in SPECS.items()}


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every route the OpenAPI documents."""
    return [
        (method, path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def table_of(spec: ServiceSpec) -> dict[str, frozenset[str]]:
    assert spec.permissions is not None, f"{spec.name} has no permission table"
    return {**PLATFORM.grants, **spec.permissions.grants}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize("service", sorted(SPECS))
def test_every_route_declares_a_permission_of_its_table(apps, service) -> None:
    table = table_of(SPECS[service])
    undeclared = []
    for method, path, operation in operations(apps[service]):
        if path in PUBLIC_PATHS:
            assert "security" not in operation, (method, path)
            continue
        permission = operation.get("x-permission")
        if permission is None:
            undeclared.append(f"{method.upper()} {path}")
            continue
        assert permission in table, (method, path, permission)
        assert operation["security"] == [{"bearer": [permission]}]
        assert operation["x-roles"] == sorted(table[permission])
        assert f"`{permission}`" in operation["description"]
    assert undeclared == []


@pytest.mark.parametrize("service", sorted(SPECS))
def test_each_role_reaches_exactly_what_the_table_grants(apps, service) -> None:
    table = table_of(SPECS[service])
    http = TestClient(apps[service], raise_server_exceptions=False)
    wrong = []
    for method, path, operation in operations(apps[service]):
        if path in PUBLIC_PATHS:
            continue
        permission = operation["x-permission"]
        for role, value in TOKENS.items():
            answer = http.request(method.upper(), concrete(path), headers=bearer(value), json={})
            granted = role in table[permission]
            let_in = answer.status_code not in (401, 403)
            if let_in != granted:
                wrong.append(f"{role} {method.upper()} {path}: {answer.status_code}")
            elif not granted:
                assert answer.json()["permission"] == permission
    assert wrong == []


def test_no_permission_grants_the_services_own_role() -> None:
    for spec in SPECS.values():
        for permission, roles in table_of(spec).items():
            assert "system" not in roles, (spec.name, permission)
    with pytest.raises(ValueError, match="system"):
        Permissions({"ticket.create": {"agent", "system"}})


def test_the_simulated_clock_is_the_administrators_alone(apps) -> None:
    http = TestClient(apps["intake"], raise_server_exceptions=False)
    for role, value in TOKENS.items():
        answer = http.post("/admin/clock/advance", headers=bearer(value), json={"hours": 1})
        assert (answer.status_code == 403) == (role != "admin"), role


def test_a_service_with_a_route_of_no_permission_does_not_start() -> None:
    def routes(_: Any) -> APIRouter:
        router = APIRouter()

        @router.get("/open")
        async def open_route() -> dict[str, str]:
            return {}

        return router

    spec = ServiceSpec(
        name="probe", default_port=0, migrations=(), handlers=lambda _: (), routes=routes
    )
    with pytest.raises(UndeclaredPermission, match="GET /open"):
        build_app(spec)


def test_the_route_binds_the_caller_acting_as_the_roles_that_let_it_in() -> None:
    may = Permissions({"job.read": {"engineer", "quality"}})

    def routes(_: Any) -> APIRouter:
        router = APIRouter()

        @router.get("/probe", dependencies=[may("job.read")])
        async def probe() -> dict[str, Any]:
            caller = current_principal()
            return {"subject": caller.subject, "acting_as": sorted(caller.acting_as)}

        return router

    spec = ServiceSpec(
        name="probe", default_port=0, migrations=(), handlers=lambda _: (), routes=routes
    )
    http = TestClient(build_app(spec))
    value = token("dispatcher", "engineer", subject="eng-1")
    answer = http.get("/probe", headers=bearer(value))
    assert answer.json() == {"subject": "eng-1", "acting_as": ["engineer"]}
    refused = http.get("/probe", headers=bearer(token("dispatcher")))
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert refused.json()["permission"] == "job.read"
