"""Composition root of the feedback service."""

from __future__ import annotations

import sys

from repairline_feedback.api import routes
from repairline_feedback.handlers import (
    CALLBACK_TIMER,
    COMPLAINT_TIMER,
    CallbackList,
    Cases,
    Complaints,
    ScheduleCallbacks,
    Served,
    Surveys,
    complaint_timer,
    on_callback_due,
)
from repairline_feedback.migrations import MIGRATIONS
from repairline_platform.cli import run_cli
from repairline_platform.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="feedback",
    default_port=8104,
    migrations=MIGRATIONS,
    handlers=lambda rt: [
        ScheduleCallbacks(rt.pack),
        CallbackList(),
        Served(),
        Complaints(),
        Cases(),
        Surveys(),
    ],
    routes=routes,
    timer_handlers=lambda rt: {
        CALLBACK_TIMER: on_callback_due,
        COMPLAINT_TIMER: complaint_timer(rt.pack),
    },
    description="Callbacks, satisfaction, complaints and follow-ups.",
)


def cli() -> None:
    sys.exit(run_cli(SPEC))


if __name__ == "__main__":
    cli()
