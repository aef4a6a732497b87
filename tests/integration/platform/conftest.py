"""A database of the platform's own tables, and a handler that records what it applied."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import pytest

from repairline_contracts.intake import RepairRequested
from repairline_contracts.topics import INTAKE_EVENTS
from repairline_platform import db
from repairline_platform.clock import FixedClock
from repairline_platform.eventstore import Delivered, Origin, UnitOfWork
from tests.support.system import PG, drop_database

ORIGIN = Origin(source="/tests", region="cn-east", policy_pack="water-heater", policy_version="t")
APPLIED = db.Migration("900_applied", "create table applied (event_id text primary key)")


class Platform:
    """The platform tables of one test database, a pool and units of work on it."""

    def __init__(self, pool: asyncpg.Pool, prefix: str) -> None:
        self.pool = pool
        self.prefix = prefix
        self.clock = FixedClock(started_at())

    def topic(self, canonical: str) -> str:
        return self.prefix + canonical

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield UnitOfWork(conn=conn, clock=self.clock, origin=ORIGIN, topic_for=self.topic)

    async def applied(self) -> list[str]:
        return [r["event_id"] for r in await self.pool.fetch("select event_id from applied")]


class RecordingHandler:
    """Applies RepairRequested by recording its id; `failures` lists what to raise first."""

    name = "recorder"
    topics = (INTAKE_EVENTS,)
    event_types = frozenset({RepairRequested.event_type})

    def __init__(self) -> None:
        self.failures: list[BaseException] = []
        self.refuse: set[str] = set()  # ticket ids this handler refuses, every time

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        for item in items:
            if item.event.ticket_id in self.refuse:
                raise ValueError(f"ticket {item.event.ticket_id} refused")
            await uow.conn.execute("insert into applied values ($1)", item.envelope.id)


@pytest.fixture
async def platform(prefix: str) -> AsyncIterator[Platform]:
    database = f"{prefix.rstrip('.')}_platform"
    await db.ensure_database(PG, database)
    pool = await db.create_pool(f"{PG}/{database}")
    async with pool.acquire() as conn:
        await db.migrate(conn, [APPLIED])
    try:
        yield Platform(pool, prefix)
    finally:
        await pool.close()
        await drop_database(database)


def started_at() -> datetime:
    return datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())
