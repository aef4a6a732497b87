"""Tokens for the tests, from the local issuer's key under `.local/auth/` (made on first
use, shared with `make run`).

Importing this module points the services the tests build or start at that issuer
(`REPAIRLINE_AUTH_*`) and lifts the per-client rate limit, which only its own test
exercises. `EVERYONE` holds every user role without a region scope: the harness
drives whole flows with it; tests of access use single-role tokens (`token`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from repairline_platform.access import USER_ROLES
from repairline_platform.issuer import Grant, local_environment, mint

ROOT = Path(__file__).resolve().parents[2]
AUTH_DIR = ROOT / ".local" / "auth"

ENVIRONMENT = {
    **local_environment(AUTH_DIR),
    "REPAIRLINE_RATE_LIMIT_PER_MINUTE": "1000000",
    "REPAIRLINE_RATE_LIMIT_BURST": "1000000",
}
os.environ.update(ENVIRONMENT)


def token(
    *roles: str, subject: str | None = None, ttl_seconds: float = 8 * 3600, **claims: Any
) -> str:
    """A token holding `roles` (and scope claims: regions, engineer_id, ...)."""
    regions = tuple(claims.pop("regions", ()))
    grant = Grant(
        subject=subject or f"test-{'-'.join(roles) or 'nobody'}",
        roles=tuple(roles),
        regions=regions,
        **claims,
    )
    return mint(AUTH_DIR, grant, ttl_seconds=ttl_seconds)


EVERYONE = token(*sorted(USER_ROLES), subject="test-harness")


def bearer(value: str = EVERYONE) -> dict[str, str]:
    """The Authorization header carrying `value`."""
    return {"Authorization": f"Bearer {value}"}


def refused_tokens() -> dict[str, str]:
    """Tokens a service must refuse, by the reason its 401 names."""
    good = token("agent", subject="test-refused")
    head, payload, signature = good.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    everyone = Grant("test-refused", tuple(sorted(USER_ROLES)))
    return {
        "no bearer token": "",
        "bad signature": f"{head}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}",
        "token expired": mint(AUTH_DIR, everyone, ttl_seconds=-3600),
        "wrong audience": mint(AUTH_DIR, everyone, audience="another-api"),
        "wrong issuer": mint(AUTH_DIR, everyone, issuer="https://issuer.elsewhere.example"),
    }
