"""Composition root of the dispatch service."""

from __future__ import annotations

import sys
from functools import cache
from typing import Any

from repairline_dispatch.api import routes
from repairline_dispatch.commands import Ctx
from repairline_dispatch.domain.packs import RegionPacks
from repairline_dispatch.migrations import MIGRATIONS
from repairline_dispatch.permissions import PERMISSIONS
from repairline_dispatch.projections import (
    DayPlans,
    DispatchBoard,
    Jobs,
    KeyAccountFile,
    RosterLog,
    Workload,
)
from repairline_dispatch.reactions import (
    IntakeReactions,
    QuoteReactions,
    RevisitReactions,
    timer_handlers,
)
from repairline_dispatch.settings import DispatchSettings
from repairline_dispatch.store import PgStore
from repairline_platform.cli import run_cli
from repairline_platform.runtime import Runtime, ServiceSpec


@cache
def _settings() -> DispatchSettings:
    return DispatchSettings()


def ctx(rt: Runtime) -> Ctx:
    """Every command decides with its ticket's pack at its own time (`rt.pack_now`), never
    one captured at start; the packs are loaded when the runtime opens its storage,
    settings once per process."""
    regions = RegionPacks(rt.packs, rt.routing)

    def store(uow: Any) -> PgStore:
        return PgStore(uow.conn, lambda region, skills: regions.hours(region, skills, uow.now()))

    return Ctx(
        pack_at=rt.pack_now,
        regions=regions,
        settings=_settings(),
        unit_of_work=rt.unit_of_work,
        store=store,
    )


JOBS = Jobs()

SPEC = ServiceSpec(
    name="dispatch",
    permissions=PERMISSIONS,
    pack_sections=("calendar", "dispatch"),
    default_port=8102,
    migrations=MIGRATIONS,
    # the copy of other contexts' facts comes first: replay rebuilds in this order, and
    # the workload and the key-account file read it
    handlers=lambda rt: [
        JOBS,
        RosterLog(),
        Workload(),
        DispatchBoard(),
        KeyAccountFile(),
        DayPlans(),
        IntakeReactions(ctx(rt), JOBS),
        QuoteReactions(ctx(rt), JOBS),
        RevisitReactions(ctx(rt)),
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
