"""A hand-written fake of dispatch's store and the context of its commands, in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from repairline_dispatch.commands import Ctx
from repairline_dispatch.domain.packs import RegionPacks
from repairline_dispatch.domain.roster import Engineer
from repairline_dispatch.domain.visit import Inspection, Job
from repairline_dispatch.settings import DispatchSettings
from repairline_dispatch.store import Waiting
from repairline_platform.clock import FixedClock
from repairline_platform.policy import current_policy
from repairline_platform.testing import InMemoryEventStore
from repairline_rules import PackBook, load_book
from repairline_rules.packs import PolicyPack
from repairline_rules.routing import single

# Tuesday 24 November 2026, 09:00 in Shanghai
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


@dataclass
class FakeStore:
    """What dispatch's projections would answer, set by each test."""

    jobs: dict[str, Job] = field(default_factory=dict)
    roster: dict[str, Engineer] = field(default_factory=dict)
    service_point_regions: set[str] = field(default_factory=set)
    repairs: set[tuple[str, str | None]] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    waiting_tickets: list[tuple[str, str, str, str]] = field(default_factory=list)
    locked: set[str] = field(default_factory=set)
    inspections: dict[str, Inspection] = field(default_factory=dict)  # ticket -> the latest

    async def job(self, ticket_id: str) -> Job | None:
        return self.jobs.get(ticket_id)

    async def latest_inspection(self, ticket_id: str) -> Inspection | None:
        return self.inspections.get(ticket_id)

    async def engineers(
        self, region: str, skill: str, *, ticket_id: str, appointments: bool = True
    ) -> list[Engineer]:
        return [
            e if appointments else replace(e, busy=())
            for e in self.roster.values()
            if e.active and e.region == region and skill in e.skills
        ]

    async def engineer(self, engineer_id: str, *, ticket_id: str) -> Engineer | None:
        return self.roster.get(engineer_id)

    async def lock_engineers(self, engineer_ids: Sequence[str]) -> None:
        self.locked.update(engineer_ids)

    async def has_service_point(self, region: str | None) -> bool:
        return region in self.service_point_regions

    async def fixed_before(
        self, engineer_id: str, product_line: str | None, fault_kind: str | None
    ) -> bool:
        return (engineer_id, product_line) in self.repairs

    async def keep_name(self, engineer_id: str, name: str) -> None:
        self.names[engineer_id] = name

    async def waiting(self, region: str, skills: Sequence[str]) -> list[Waiting]:
        return [
            Waiting(ticket_id, correlation_id)
            for ticket_id, r, skill, correlation_id in self.waiting_tickets
            if r == region and skill in skills
        ]

    async def region_jobs(self, region: str) -> list[Job]:
        return sorted(
            (j for j in self.jobs.values() if j.region == region and not j.closed),
            key=lambda j: j.ticket_id,
        )

    async def region_engineers(self, region: str) -> list[Engineer]:
        return sorted(
            (e for e in self.roster.values() if e.active and e.region == region),
            key=lambda e: e.engineer_id,
        )


def job(ticket_id: str = "t1", **over: Any) -> Job:
    base = Job(
        ticket_id,
        region="cn-east",
        skill="instant_water_heater",
        city_tier="provincial_capital",
        service_mode="on_site",
        requested_at=NOW,
    )
    return replace(base, **over)


def engineer(engineer_id: str = "eng-1", **over: Any) -> Engineer:
    base = Engineer(engineer_id, "cn-east", frozenset({"instant_water_heater"}), open_jobs=0)
    return replace(base, **over)


@dataclass
class World:
    """The in-memory event store, the fake store and the commands' context."""

    events: InMemoryEventStore
    store: FakeStore
    ctx: Ctx
    clock: FixedClock
    pack: PolicyPack
    """The pack every command of this world decides with."""


def world(pack: str = "water-heater") -> World:
    """Every command decides with one pack, whatever its ticket names."""
    clock = FixedClock(NOW)
    events = InMemoryEventStore(clock)
    store = FakeStore()
    book = load_book([pack])
    the_pack = book.versions(pack)[0]
    ctx = Ctx(
        pack_at=lambda now: the_pack,
        regions=RegionPacks(book, single(pack)),
        settings=DispatchSettings(),
        unit_of_work=events.unit_of_work,
        store=lambda uow: store,
    )
    return World(events, store, ctx, clock, the_pack)


def book_world(book: PackBook, default: str) -> World:
    """Several packs in one process: each command decides with its ticket's pack and
    version (bound from its events) at the command's time, as `Runtime.pack_now` does."""
    clock = FixedClock(NOW)
    events = InMemoryEventStore(clock)
    store = FakeStore()

    def pack_at(now: datetime) -> PolicyPack:
        policy = current_policy()
        if policy is None:
            return book.opened_at(default, now)
        return book.for_ticket(policy.pack, policy.version, now)

    ctx = Ctx(
        pack_at=pack_at,
        regions=RegionPacks(book, single(default)),
        settings=DispatchSettings(),
        unit_of_work=events.unit_of_work,
        store=lambda uow: store,
    )
    return World(events, store, ctx, clock, book.versions(default)[0])
