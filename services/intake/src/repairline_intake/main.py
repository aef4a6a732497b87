"""Composition root of the intake service."""

from __future__ import annotations

import sys

from repairline_intake import reactions
from repairline_intake.api import routes
from repairline_intake.migrations import MIGRATIONS
from repairline_intake.permissions import PERMISSIONS
from repairline_intake.projections import all_projections
from repairline_platform.cli import run_cli
from repairline_platform.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="intake",
    permissions=PERMISSIONS,
    default_port=8101,
    migrations=MIGRATIONS,
    handlers=lambda rt: [*all_projections(), *reactions.reactions(rt)],
    timer_handlers=reactions.timers,
    routes=routes,
    description="Repair requests from every channel, triage, warranty and the three guarantees.",
)


def cli() -> None:
    sys.exit(run_cli(SPEC))


if __name__ == "__main__":
    cli()
