"""Composition root of the intake service."""

from __future__ import annotations

import sys

from repairline_intake.api import routes
from repairline_intake.handlers import TicketView
from repairline_intake.migrations import MIGRATIONS
from repairline_platform.cli import run_cli
from repairline_platform.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="intake",
    default_port=8101,
    migrations=MIGRATIONS,
    handlers=lambda rt: [TicketView()],
    routes=routes,
    description="Repair requests from every channel, triage, warranty and the three guarantees.",
)


def cli() -> None:
    sys.exit(run_cli(SPEC))


if __name__ == "__main__":
    cli()
