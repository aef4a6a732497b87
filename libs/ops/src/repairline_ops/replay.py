"""`repairline replay --service S --until T`: a service's projections as they stood at T.

    repairline replay --service intake --until 2026-11-20T00:00:00+08:00
    # then, in the service's database:
    #   select * from asof_20261119t160000z.ticket_view  -- beside public.ticket_view

Rebuilt from Kafka into a schema of its own (`--schema`, default from the time); the
live service may keep running. Settings are the service's (`REPAIRLINE_*`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from datetime import datetime

import uvloop

from repairline_platform.replay import ReplayStats, replay_until
from repairline_platform.runtime import Runtime, ServiceSpec
from repairline_platform.settings import ServiceSettings

SERVICES = ("intake", "dispatch", "billing", "feedback")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--service", required=True, choices=SERVICES)
    p.add_argument(
        "--until", required=True, type=_aware, help="a moment with its offset (ISO 8601)"
    )
    p.add_argument("--schema", help="schema to rebuild into (default: asof_<UTC time>)")


def spec_of(service: str) -> ServiceSpec:
    spec: ServiceSpec = importlib.import_module(f"repairline_{service}.main").SPEC
    return spec


async def rebuild(
    spec: ServiceSpec, settings: ServiceSettings, until: datetime, schema: str | None
) -> tuple[str, list[ReplayStats]]:
    rt = Runtime(spec, settings)
    await rt.open_storage()
    try:
        return await replay_until(rt, until, schema=schema)
    finally:
        await rt.pool.close()


def run(args: argparse.Namespace) -> int:
    try:
        schema, stats = uvloop.run(
            rebuild(spec_of(args.service), ServiceSettings(), args.until, args.schema)
        )
    except ValueError as exc:
        print(f"replay refused: {exc}", file=sys.stderr)
        return 2
    for s in stats:
        print(f"{s.projection}: {s.events} events read, {s.applied} applied in {s.seconds:.2f}s")
    print(f"{args.service} as of {args.until.isoformat()} is in schema {schema}")
    return 0


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time with its offset, e.g. +08:00 or Z")
    return value
