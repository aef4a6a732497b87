"""`repairline token`: an access token from the local issuer, for curl on a workstation.

    repairline token --role dispatcher --region cn-east
    repairline token --role engineer --region cn-east --engineer eng-hz-01 --ttl 8h
    curl -H "Authorization: Bearer $(repairline token --role agent)" ...

It signs with the key under `.local/auth/` (made by `make run`, or here when absent);
the services started by `make run` read its public half. In production the network's
identity provider issues the tokens; this command has no key for it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from repairline_platform.access import USER_ROLES
from repairline_platform.issuer import LOCAL_AUDIENCE, LOCAL_ISSUER, Grant, mint, roles_of

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """`90`, `90s`, `15m`, `8h`, `2d` in seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 8h, 15m, 2d)")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--role",
        action="append",
        required=True,
        help=f"a role the token grants; repeat for more ({', '.join(sorted(USER_ROLES))})",
    )
    parser.add_argument(
        "--region", action="append", default=[], help="region scope; none: every region"
    )
    parser.add_argument("--engineer", help="the engineer's id (an engineer's own jobs)")
    parser.add_argument("--dealer", help="the dealer's id (its own customers' tickets)")
    parser.add_argument("--customer", help="the customer's id (app and web: own tickets)")
    parser.add_argument("--on-behalf-of", help="whom an agent or a dealer acts for")
    parser.add_argument("--subject", help="the caller's id (`sub`); default: local-<roles>")
    parser.add_argument("--ttl", type=duration, default=8 * 3600.0, help="lifetime (8h)")
    parser.add_argument(
        "--key-dir",
        type=Path,
        default=Path(os.environ.get("REPAIRLINE_AUTH_LOCAL_DIR", ".local/auth")),
        help="the local issuer's key directory (.local/auth)",
    )


def run(args: argparse.Namespace) -> int:
    roles = roles_of(args.role)
    unknown = sorted(set(roles) - USER_ROLES)
    if unknown:
        print(f"token: unknown role(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    grant = Grant(
        subject=args.subject or f"local-{'-'.join(roles)}",
        roles=roles,
        regions=roles_of(args.region),
        engineer_id=args.engineer,
        dealer_id=args.dealer,
        customer_id=args.customer,
        on_behalf_of=args.on_behalf_of,
    )
    print(
        mint(
            args.key_dir,
            grant,
            ttl_seconds=args.ttl,
            issuer=os.environ.get("REPAIRLINE_AUTH_ISSUER", LOCAL_ISSUER),
            audience=os.environ.get("REPAIRLINE_AUTH_AUDIENCE", LOCAL_AUDIENCE),
        )
    )
    return 0
