"""Composition root of the dispatch service."""

from __future__ import annotations

import sys
from functools import cache

from repairline_dispatch.api import routes
from repairline_dispatch.handlers import (
    Ctx,
    DispatchBoard,
    IntakeReactions,
    KeyAccountFile,
    QuoteReactions,
    RevisitReactions,
    RosterLog,
    timer_handlers,
)
from repairline_dispatch.migrations import MIGRATIONS
from repairline_dispatch.settings import DispatchSettings
from repairline_platform.cli import run_cli
from repairline_platform.runtime import Runtime, ServiceSpec


@cache
def _settings() -> DispatchSettings:
    return DispatchSettings()


def ctx(rt: Runtime) -> Ctx:
    """The pack is loaded when the runtime opens its storage; settings once per process."""
    return Ctx(pack=rt.pack, settings=_settings())


SPEC = ServiceSpec(
    name="dispatch",
    default_port=8102,
    migrations=MIGRATIONS,
    handlers=lambda rt: [
        IntakeReactions(ctx(rt)),
        QuoteReactions(ctx(rt)),
        RevisitReactions(ctx(rt)),
        DispatchBoard(),
        KeyAccountFile(),
        RosterLog(),
    ],
    routes=lambda rt: routes(rt, ctx),
    timer_handlers=lambda rt: timer_handlers(ctx(rt)),
    description="Engineers, service points, assignment, appointments and the visit, with"
    " DSP-3 deadlines, DSP-7 lateness notices and PEN-7 missed appointments as events.",
)


def cli() -> None:
    sys.exit(run_cli(SPEC))


if __name__ == "__main__":
    cli()
