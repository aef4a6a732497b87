"""Operator commands that span services.

python -m repairline_platform.admin topics            # create the topics
python -m repairline_platform.admin clock-advance --hours 24 URL [URL ...]

`clock-advance` calls the services with an administrator's bearer token, from
`--token` or `REPAIRLINE_TOKEN` (locally: `repairline token --role admin`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.request

from repairline_contracts.topics import ALL_TOPICS
from repairline_platform.kafka import ensure_topics, security_options
from repairline_platform.settings import ServiceSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="repairline-admin")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("topics", help="create every topic that does not exist yet")
    adv = sub.add_parser("clock-advance", help="move the simulated clock of running services")
    adv.add_argument("--seconds", type=float, default=0)
    adv.add_argument("--hours", type=float, default=0)
    adv.add_argument("--days", type=float, default=0)
    adv.add_argument(
        "--token",
        default=os.environ.get("REPAIRLINE_TOKEN"),
        help="an admin's bearer token (default: $REPAIRLINE_TOKEN)",
    )
    adv.add_argument("urls", nargs="+", help="base URLs of the services")
    args = parser.parse_args(argv)

    if args.command == "topics":
        s = ServiceSettings()
        created = asyncio.run(
            ensure_topics(
                s.kafka_bootstrap,
                [s.topic(t) for t in ALL_TOPICS],
                partitions=s.topic_partitions,
                replication=s.topic_replication,
                security=security_options(s),
            )
        )
        print(
            f"topics ready ({len(created)} created): " + ", ".join(s.topic(t) for t in ALL_TOPICS)
        )
        return 0

    body = json.dumps({"seconds": args.seconds, "hours": args.hours, "days": args.days}).encode()
    for url in args.urls:
        request = urllib.request.Request(
            f"{url.rstrip('/')}/admin/clock/advance",
            data=body,
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {args.token}"} if args.token else {}),
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            print(f"{url}: {json.loads(response.read())['now']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
