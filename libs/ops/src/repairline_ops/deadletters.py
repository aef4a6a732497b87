"""`repairline deadletters list|show|redrive`: what the consumers could not apply.

Every consumer records each record it dead-letters once, in its own service's database
(origin topic, partition and offset, the bytes, a short error). `list` shows them per
origin and consumer, `show` one of them with an excerpt of its bytes, and `redrive`
asks the running service to apply chosen ones again through the consumer that failed
them (after the cause was fixed); the service marks each redriven, or records why it
failed again. Redriving twice applies nothing twice.

A dead letter is named `<consumer>@<topic>/<partition>/<offset>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import asyncpg

from repairline_platform.db import connect_options
from repairline_platform.settings import PgSettings

SERVICES = ("intake", "dispatch", "billing", "feedback")
EXCERPT = 600


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pg-dsn",
        default=os.environ.get("REPAIRLINE_PG_DSN", "postgresql://repairline@127.0.0.1:15432"),
        help="PostgreSQL server DSN without database (default: $REPAIRLINE_PG_DSN)",
    )
    parser.add_argument(
        "--database",
        action="append",
        help="a service database to read (repeatable; default: the four services')",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="dead letters per origin and consumer")
    listing.add_argument("--consumer", help="only this consumer, e.g. dispatch.assignment")
    listing.add_argument(
        "--pending", action="store_true", help="only those not redriven successfully"
    )
    show = sub.add_parser("show", help="one dead letter, with an excerpt of its bytes")
    show.add_argument("letter", help="<consumer>@<topic>/<partition>/<offset>")
    redrive = sub.add_parser("redrive", help="apply chosen dead letters again")
    redrive.add_argument("letters", nargs="*", help="<consumer>@<topic>/<partition>/<offset>")
    redrive.add_argument("--consumer", help="every pending dead letter of this consumer")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    databases = args.database or [f"repairline_{s}" for s in SERVICES]
    if args.action == "list":
        rows = await _list(args.pg_dsn, databases, args.consumer, args.pending)
        _print_rows(rows, args.json)
        return 0
    if args.action == "show":
        letter = await _show(args.pg_dsn, databases, _parse(args.letter))
        if letter is None:
            print(f"no dead letter {args.letter}", file=sys.stderr)
            return 1
        print(json.dumps(letter, indent=2, default=str))
        return 0
    names = [_parse(n) for n in args.letters]
    if not names and not args.consumer:
        print("name dead letters to redrive, or --consumer", file=sys.stderr)
        return 2
    count = await _request_redrive(args.pg_dsn, databases, names, args.consumer)
    print(f"{count} dead letter(s) queued for redrive")
    return 0 if count or args.consumer else 1


def _parse(name: str) -> tuple[str, str, int, int]:
    try:
        consumer, origin = name.split("@", 1)
        topic, partition, offset = origin.rsplit("/", 2)
        return consumer, topic, int(partition), int(offset)
    except ValueError:
        raise SystemExit(f"not a dead letter name: {name!r}") from None


def _name(row: Any) -> str:
    return (
        f"{row['consumer']}@{row['origin_topic']}/{row['origin_partition']}/{row['origin_offset']}"
    )


def _status(row: Any) -> str:
    if row["redriven_at"] is not None:
        return "redriven"
    if row["redrive_requested_at"] is not None:
        return "redrive requested"
    return "failed again" if row["redrive_error"] else "dead"


_COLUMNS = (
    "consumer, origin_topic, origin_partition, origin_offset, size_bytes, error, dead_at,"
    " redrive_requested_at, redriven_at, redrive_error"
)


async def _each(dsn: str, databases: list[str]) -> Any:
    options = connect_options(PgSettings())  # TLS and password, as the services connect
    for database in databases:
        try:
            conn = await asyncpg.connect(f"{dsn.rstrip('/')}/{database}", timeout=10, **options)
        except (OSError, asyncpg.InvalidCatalogNameError):
            continue
        try:
            if await conn.fetchval("select to_regclass('dead_letters')") is not None:
                yield database, conn
        finally:
            await conn.close()


async def _list(
    dsn: str, databases: list[str], consumer: str | None, pending: bool
) -> list[dict[str, Any]]:
    out = []
    async for database, conn in _each(dsn, databases):
        rows = await conn.fetch(
            f"select {_COLUMNS} from dead_letters"
            " where ($1::text is null or consumer = $1)"
            " and (not $2 or redriven_at is null)"
            " order by origin_topic, origin_partition, origin_offset, consumer",
            consumer,
            pending,
        )
        out += [
            {
                "name": _name(r),
                "database": database,
                "consumer": r["consumer"],
                "status": _status(r),
                "size_bytes": r["size_bytes"],
                "error": r["redrive_error"] or r["error"],
                "dead_at": r["dead_at"].isoformat(),
            }
            for r in rows
        ]
    return out


async def _show(
    dsn: str, databases: list[str], key: tuple[str, str, int, int]
) -> dict[str, Any] | None:
    async for database, conn in _each(dsn, databases):
        row = await conn.fetchrow(
            f"select {_COLUMNS}, substring(record_value from 1 for {EXCERPT}) as excerpt,"
            " record_key from dead_letters where consumer = $1 and origin_topic = $2"
            " and origin_partition = $3 and origin_offset = $4",
            *key,
        )
        if row is not None:
            return {
                "name": _name(row),
                "database": database,
                "status": _status(row),
                **{k: row[k] for k in _COLUMNS.replace(" ", "").split(",")},
                "key": bytes(row["record_key"] or b"").decode("utf-8", "replace"),
                "excerpt": bytes(row["excerpt"] or b"").decode("utf-8", "replace"),
            }
    return None


async def _request_redrive(
    dsn: str, databases: list[str], names: list[tuple[str, str, int, int]], consumer: str | None
) -> int:
    count = 0
    async for _, conn in _each(dsn, databases):
        for key in names:
            status = await conn.execute(
                "update dead_letters set redrive_requested_at = now(), redrive_error = null"
                " where consumer = $1 and origin_topic = $2 and origin_partition = $3"
                " and origin_offset = $4 and redriven_at is null",
                *key,
            )
            count += int(status.split()[-1])
        if consumer:
            status = await conn.execute(
                "update dead_letters set redrive_requested_at = now(), redrive_error = null"
                " where consumer = $1 and redriven_at is null",
                consumer,
            )
            count += int(status.split()[-1])
    return count


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no dead letters")
        return
    for r in rows:
        print(f"{r['name']}  {r['status']}  {r['size_bytes']} bytes  {r['error'][:120]}")
