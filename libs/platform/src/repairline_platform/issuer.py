"""The local token issuer, for a workstation (`make run`) and the tests.

It keeps one signing key (EC P-256) in a directory, by default `.local/auth/`:
`signing-key.json` (private; never committed, `.local` is ignored) and `jwks.json`, the
public key set the services read (`REPAIRLINE_AUTH_JWKS_FILE`). `repairline token`
mints access tokens with it. In production the network's OpenID Connect provider
issues the tokens and the services read its JWKS URL; this module is not used there.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

LOCAL_ISSUER = "https://issuer.repairline.local"
LOCAL_AUDIENCE = "repairline"
ALGORITHM = "ES256"
SIGNING_KEY = "signing-key.json"
JWKS = "jwks.json"


def ensure_key(directory: Path) -> Path:
    """The directory's signing key, made once (atomically: concurrent callers agree on
    one key) and its public JWKS written beside it; returns the JWKS file."""
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / SIGNING_KEY
    if not private.exists():
        key = ECKey.generate_key(
            "P-256", parameters={"kid": uuid.uuid4().hex[:16], "alg": ALGORITHM, "use": "sig"}
        )
        draft = directory / f".{SIGNING_KEY}.{os.getpid()}.{uuid.uuid4().hex}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(key.as_dict(private=True), out)
        try:
            os.link(draft, private)  # fails when another process made the key first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = _load(private)
    jwks = directory / JWKS
    _write_atomically(jwks, json.dumps({"keys": [key.as_dict(private=False)]}, indent=2))
    return jwks


def _load(private: Path) -> ECKey:
    return ECKey.import_key(json.loads(private.read_text()))


def _write_atomically(path: Path, text: str) -> None:
    draft = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    draft.write_text(text)
    draft.replace(path)


@dataclass(frozen=True)
class Grant:
    """What a token says about its caller (the claims the services read)."""

    subject: str
    roles: tuple[str, ...]
    regions: tuple[str, ...] = ()
    engineer_id: str | None = None
    dealer_id: str | None = None
    customer_id: str | None = None
    on_behalf_of: str | None = None

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {"sub": self.subject, "roles": list(self.roles)}
        if self.regions:
            claims["regions"] = list(self.regions)
        for name in ("engineer_id", "dealer_id", "customer_id", "on_behalf_of"):
            if getattr(self, name) is not None:
                claims[name] = getattr(self, name)
        return claims


def mint(
    directory: Path,
    grant: Grant,
    *,
    ttl_seconds: float = 8 * 3600,
    issuer: str = LOCAL_ISSUER,
    audience: str = LOCAL_AUDIENCE,
    now: float | None = None,
    not_before: float | None = None,
) -> str:
    """An access token signed with the directory's key (made if absent)."""
    ensure_key(directory)
    key = _load(directory / SIGNING_KEY)
    issued = int(time.time() if now is None else now)
    claims = {
        **grant.claims(),
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "nbf": int(issued if not_before is None else not_before),
        "exp": int(issued + ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode({"alg": ALGORITHM, "kid": key.kid}, claims, key, algorithms=[ALGORITHM])


def local_environment(directory: Path) -> dict[str, str]:
    """The settings a service on this workstation verifies the local tokens with."""
    return {
        "REPAIRLINE_AUTH_ISSUER": LOCAL_ISSUER,
        "REPAIRLINE_AUTH_AUDIENCE": LOCAL_AUDIENCE,
        "REPAIRLINE_AUTH_JWKS_FILE": str(ensure_key(directory)),
    }


def roles_of(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.strip() for v in values for r in v.split(",") if r.strip()))


def main(argv: list[str] | None = None) -> int:
    """`python -m repairline_platform.issuer DIR`: make the key if absent and print the
    services' settings for it as shell `export` lines (`deploy/local/services.sh`)."""
    import shlex
    import sys

    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0] if args else ".local/auth")
    for name, value in local_environment(directory).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
