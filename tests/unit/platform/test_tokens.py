"""The bearer-token verifier: signature against the issuer's keys, iss, aud, exp and nbf,
the claims it names the caller by, and keys rotated at the issuer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from repairline_platform.tokens import (
    InvalidToken,
    KeyCache,
    Verifier,
    jwks_from_file,
    principal_of,
)

ISSUER = "https://id.example/realm"
AUDIENCE = "repairline"
NOW = 1_800_000_000  # a fixed moment; every token here is dated from it


def new_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"})


def publish(path: Path, *keys: ECKey) -> None:
    path.write_text(json.dumps({"keys": [k.as_dict(private=False) for k in keys]}))


def sign(key: ECKey, kid: str | None = None, **overrides: Any) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "agent-7",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 600,
        "roles": ["agent"],
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "ES256", "kid": kid or key.kid}, claims, key)


class Monotonic:
    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def jwks(tmp_path: Path) -> Path:
    return tmp_path / "jwks.json"


def verifier(jwks: Path, clock: Monotonic | None = None) -> Verifier:
    keys = KeyCache(jwks_from_file(jwks), refetch_seconds=30, now=clock or Monotonic())
    return Verifier(keys, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=30, now=lambda: NOW)


async def reason(v: Verifier, token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        await v.principal(token)
    return refused.value.reason


async def test_a_good_token_names_its_caller_and_scope(jwks) -> None:
    key = new_key("k1")
    publish(jwks, key)
    token = sign(
        key,
        roles=["engineer", "system", "pilot"],
        regions=["cn-east"],
        engineer_id="eng-hz-01",
        on_behalf_of="cust-9",
    )
    caller = await verifier(jwks).principal(token)
    assert caller.subject == "agent-7"
    assert caller.roles == {"engineer"}  # unknown roles and `system` are never taken
    assert caller.regions == {"cn-east"}
    assert caller.engineer_id == "eng-hz-01"
    assert caller.on_behalf_of == "cust-9"
    assert caller.acting_as == frozenset()


async def test_each_bad_token_is_refused_naming_why(jwks) -> None:
    key, stranger = new_key("k1"), new_key("k1")  # the stranger forges the key id
    publish(jwks, key)
    v = verifier(jwks)
    assert await reason(v, sign(stranger)) == "bad signature"
    assert await reason(v, sign(key, exp=NOW - 31)) == "token expired"
    assert await reason(v, sign(key, nbf=NOW + 31)) == "token not valid yet"
    assert await reason(v, sign(key, aud="another-api")) == "wrong audience"
    assert await reason(v, sign(key, iss="https://evil.example")) == "wrong issuer"
    assert await reason(v, sign(key, exp=None)) == "claim missing: exp"
    assert await reason(v, sign(key, sub=None)) == "claim missing: sub"
    assert await reason(v, "not.a.token") == "malformed token"
    assert (await reason(v, sign(key, regions=[1]))).startswith("claim 'regions'")


async def test_the_leeway_forgives_a_little_clock_skew(jwks) -> None:
    key = new_key("k1")
    publish(jwks, key)
    v = verifier(jwks)
    assert (await v.principal(sign(key, exp=NOW - 29, nbf=NOW + 29))).subject == "agent-7"


async def test_keys_rotated_at_the_issuer_are_read_again_once(jwks) -> None:
    old, new = new_key("2026-old"), new_key("2026-new")
    publish(jwks, old)
    clock = Monotonic()
    v = verifier(jwks, clock)
    assert (await v.principal(sign(old))).subject == "agent-7"
    assert v.keys.fetches == 1

    publish(jwks, old, new)  # the issuer publishes its next key and signs with it
    clock.at += 31
    assert (await v.principal(sign(new))).subject == "agent-7"
    assert v.keys.fetches == 2
    assert (await v.principal(sign(old))).subject == "agent-7"  # both keys cached
    assert v.keys.fetches == 2


async def test_unknown_key_ids_cannot_make_the_service_hammer_the_issuer(jwks) -> None:
    key = new_key("k1")
    publish(jwks, key)
    clock = Monotonic()
    v = verifier(jwks, clock)
    await v.principal(sign(key))
    for n in range(5):
        assert (
            await reason(v, sign(key, kid=f"made-up-{n}")) == f"unknown signing key 'made-up-{n}'"
        )
    assert v.keys.fetches == 1  # within the refetch interval nothing is read again
    clock.at += 30
    await reason(v, sign(key, kid="made-up-again"))
    assert v.keys.fetches == 2


async def test_unreadable_keys_refuse_the_token_without_crashing(tmp_path) -> None:
    v = verifier(tmp_path / "absent.json")
    assert (await reason(v, sign(new_key("k1")))).startswith("the issuer's keys cannot be read")


def test_a_caller_without_roles_holds_none() -> None:
    assert principal_of({"sub": "x"}).roles == frozenset()


def test_a_service_without_its_issuer_settings_does_not_start() -> None:
    from repairline_intake.main import SPEC
    from repairline_platform.runtime import build_app
    from repairline_platform.settings import ServiceSettings
    from repairline_platform.tokens import AuthNotConfigured

    unset = ServiceSettings(auth_issuer=None, auth_audience="repairline", auth_jwks_file=None)
    with pytest.raises(AuthNotConfigured) as refused:
        build_app(SPEC, unset)
    assert "REPAIRLINE_AUTH_ISSUER" in str(refused.value)
    assert "REPAIRLINE_AUTH_JWKS_URL or REPAIRLINE_AUTH_JWKS_FILE" in str(refused.value)
    assert "REPAIRLINE_AUTH_AUDIENCE" not in str(refused.value)


async def test_callers_arriving_during_the_first_key_fetch_wait_for_it(jwks) -> None:
    """Concurrent first requests: one reads the issuer's keys, the others wait for that
    read instead of being refused because a fetch has 'just happened'."""
    key = new_key("k1")
    publish(jwks, key)
    released = asyncio.Event()
    reads = jwks_from_file(jwks)

    async def slow_source():
        await released.wait()
        return await reads()

    keys = KeyCache(slow_source, refetch_seconds=30, now=Monotonic())
    v = Verifier(keys, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=30, now=lambda: NOW)
    callers = [asyncio.create_task(v.principal(sign(key))) for _ in range(4)]
    await asyncio.sleep(0)
    released.set()
    answers = await asyncio.gather(*callers, return_exceptions=True)
    assert [getattr(a, "subject", a) for a in answers] == ["agent-7"] * 4
    assert keys.fetches == 1
