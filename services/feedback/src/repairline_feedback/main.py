"""Composition root of the feedback service."""

from __future__ import annotations

import sys

from repairline_feedback.api import routes
from repairline_feedback.commands import Needs
from repairline_feedback.migrations import MIGRATIONS
from repairline_feedback.permissions import PERMISSIONS
from repairline_feedback.projections import PROJECTIONS
from repairline_feedback.reactions import ScheduleCallbacks, timer_handlers
from repairline_platform.cli import run_cli
from repairline_platform.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="feedback",
    permissions=PERMISSIONS,
    pack_sections=("calendar", "followup"),
    default_port=8104,
    migrations=MIGRATIONS,
    handlers=lambda rt: [
        ScheduleCallbacks(Needs.on_postgres(rt.pack_now)),
        *(projection() for projection in PROJECTIONS),
    ],
    routes=routes,
    timer_handlers=lambda rt: timer_handlers(Needs.on_postgres(rt.pack_now)),
    description="Callbacks, satisfaction, complaints and follow-ups.",
)


def cli() -> None:
    sys.exit(run_cli(SPEC))


if __name__ == "__main__":
    cli()
