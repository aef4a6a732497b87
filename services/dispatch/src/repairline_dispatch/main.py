"""Composition root of the dispatch service."""

from __future__ import annotations

import sys

from repairline_dispatch.api import routes
from repairline_dispatch.handlers import AssignOnRequest, DispatchBoard
from repairline_dispatch.migrations import MIGRATIONS
from repairline_platform.cli import run_cli
from repairline_platform.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="dispatch",
    default_port=8102,
    migrations=MIGRATIONS,
    handlers=lambda rt: [AssignOnRequest(), DispatchBoard()],
    routes=routes,
    description="Engineers, assignment and the visit: EngineerAssigned, ArrivedOnSite,"
    " RepairCompleted.",
)


def cli() -> None:
    sys.exit(run_cli(SPEC))


if __name__ == "__main__":
    cli()
