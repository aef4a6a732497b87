"""Bearer tokens: an OAuth2 access token (a JWT from the network's OpenID Connect
provider) verified against the issuer's published keys, turned into a `Principal`.

The keys (a JWKS, from a URL or a file) are cached; a token signed with a key id the
cache does not hold has the keys read again once, at most every `refetch_seconds`, so a
rotation at the issuer is picked up without a restart while a flood of made-up key ids
cannot make the service hammer the issuer. Signature, `iss`, `aud`, `exp` and `nbf` are
checked (with a small leeway for clock skew); the claims name the caller's roles and
scope.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key, KeySet

from repairline_platform.auth import ROLES, Principal
from repairline_platform.settings import AuthSettings

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
FETCH_TIMEOUT_SECONDS = 5.0


class InvalidToken(Exception):
    """The token cannot be trusted; `reason` says why (answered 401)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


JwksSource = Callable[[], Awaitable[Mapping[str, Any]]]


def jwks_from_file(path: Path) -> JwksSource:
    async def read() -> Mapping[str, Any]:
        return json.loads(await asyncio.to_thread(path.read_text))

    return read


def jwks_from_url(url: str) -> JwksSource:
    def get() -> Mapping[str, Any]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            return json.loads(response.read())

    async def read() -> Mapping[str, Any]:
        return await asyncio.to_thread(get)

    return read


class KeyCache:
    """The issuer's signing keys by key id, read again for an unknown id at most every
    `refetch_seconds` (`now` is the monotonic clock; tests pass their own)."""

    def __init__(
        self,
        source: JwksSource,
        *,
        refetch_seconds: float = 30.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._refetch_seconds = refetch_seconds
        self._now = now
        self._keys: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> Key:
        if kid not in self._keys:
            # Every caller with an unknown id waits on the lock: one fetches, the rest
            # read what it fetched (checking `_may_fetch` outside the lock would fail a
            # caller that arrives while the first fetch is still under way).
            async with self._lock:
                if kid not in self._keys and self._may_fetch():
                    await self._fetch()
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken(f"unknown signing key {kid[:64]!a}") from None

    def _may_fetch(self) -> bool:
        return self._fetched_at is None or self._now() - self._fetched_at >= self._refetch_seconds

    async def _fetch(self) -> None:
        self._fetched_at = self._now()
        self.fetches += 1
        try:
            document = await self._source()
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (OSError, ValueError, JoseError) as exc:
            raise InvalidToken(f"the issuer's keys cannot be read ({type(exc).__name__})") from exc
        self._keys = {key.kid: key for key in keys if key.kid}


class Verifier:
    """Checks a bearer token and names its caller."""

    def __init__(
        self,
        keys: KeyCache,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: int = 30,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway_seconds = leeway_seconds
        self._now = now

    async def principal(self, token: str) -> Principal:
        return principal_of(await self.claims(token))

    async def claims(self, token: str) -> dict[str, Any]:
        kid = _key_id(token)
        key = await self.keys.key(kid)
        try:
            decoded = jwt.decode(token, key, algorithms=list(ALGORITHMS))
        except BadSignatureError:
            raise InvalidToken("bad signature") from None
        except JoseError as exc:
            raise InvalidToken(f"malformed token ({exc.error})") from None
        self._check(decoded.claims)
        return dict(decoded.claims)

    def _check(self, claims: dict[str, Any]) -> None:
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._now()),
            leeway=self.leeway_seconds,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidToken("token expired") from None
        except MissingClaimError as exc:
            raise InvalidToken(f"claim missing: {exc.claim}") from None
        except InvalidClaimError as exc:
            raise InvalidToken(_claim_reason(exc.claim)) from None


def _claim_reason(claim: str) -> str:
    return {
        "iss": "wrong issuer",
        "aud": "wrong audience",
        "nbf": "token not valid yet",
        "iat": "token issued in the future",
    }.get(claim, f"invalid claim: {claim}")


def _key_id(token: str) -> str:
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError):
        raise InvalidToken("malformed token") from None
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("the token names no signing key (kid)")
    return kid


def principal_of(claims: Mapping[str, Any]) -> Principal:
    """The caller named by a verified token's claims: unknown roles are ignored and
    `system` is never taken from a token (it is the services' own role)."""
    roles = frozenset(r for r in _strings(claims, "roles") if r in ROLES and r != "system")
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,
        regions=frozenset(_strings(claims, "regions")),
        engineer_id=_optional(claims, "engineer_id"),
        dealer_id=_optional(claims, "dealer_id"),
        customer_id=_optional(claims, "customer_id"),
        on_behalf_of=_optional(claims, "on_behalf_of"),
    )


def _strings(claims: Mapping[str, Any], name: str) -> list[str]:
    value = claims.get(name) or []
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidToken(f"claim {name!r} must be a list of strings")
    return value


def _optional(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidToken(f"claim {name!r} must be a string")
    return value


class AuthNotConfigured(RuntimeError):
    """A service cannot verify tokens without its issuer's settings; it does not start."""


def verifier_for(settings: AuthSettings) -> Verifier:
    """The verifier the settings describe; missing settings stop the start, named."""
    missing = settings.missing()
    if missing:
        raise AuthNotConfigured(
            "the HTTP routes need the token issuer's settings: set " + ", ".join(missing)
        )
    assert settings.auth_issuer and settings.auth_audience
    source = (
        jwks_from_url(settings.auth_jwks_url)
        if settings.auth_jwks_url
        else jwks_from_file(Path(str(settings.auth_jwks_file)))
    )
    return Verifier(
        KeyCache(source, refetch_seconds=settings.auth_jwks_refetch_seconds),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        leeway_seconds=settings.auth_leeway_seconds,
    )
