"""Looking back in time on the real PostgreSQL (and Kafka): a stream folded as it stood at
three moments, and `replay --until` rebuilding projections into a schema of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import asyncpg
import pytest
from fastapi import APIRouter

from repairline_contracts import billing as b
from repairline_contracts import dispatch as d
from repairline_contracts import intake as i
from repairline_contracts.envelope import Envelope
from repairline_contracts.topics import BILLING_EVENTS, DISPATCH_EVENTS, INTAKE_EVENTS
from repairline_ops.sample import CST
from repairline_platform import db
from repairline_platform.asof import ARCHIVE_MIGRATION, StreamArchive, events_until, fold_as_of
from repairline_platform.clock import SystemClock
from repairline_platform.eventstore import Delivered, Origin, UnitOfWork
from repairline_platform.replay import as_of_schema, replay_projection, replay_until
from repairline_platform.runtime import Runtime, ServiceSpec
from repairline_platform.settings import ServiceSettings
from tests.integration.analytics.conftest import PublishedHistory
from tests.support.system import KAFKA, PG, drop_database

STATUS = {
    i.RepairRequested: "requested",
    d.EngineerAssigned: "assigned",
    d.ArrivedOnSite: "on_site",
    d.RepairCompleted: "completed",
    b.ChargeAssessed: "charged",
}


class TicketStatus:
    """A small projection of a ticket's status, as a service would declare one."""

    name = "ticket-status"
    topics = (INTAKE_EVENTS, DISPATCH_EVENTS, BILLING_EVENTS)
    event_types = frozenset(cls.event_type for cls in STATUS)
    tables = ("ticket_status",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            await uow.conn.execute(
                "insert into ticket_status values ($1, $2, $3, $4, $5)"
                " on conflict (ticket_id) do update set"
                " status = case when excluded.updated_at >= ticket_status.updated_at"
                "   then excluded.status else ticket_status.status end,"
                " engineer_id = coalesce(excluded.engineer_id, ticket_status.engineer_id),"
                " charge_fen = coalesce(excluded.charge_fen, ticket_status.charge_fen),"
                " updated_at = greatest(excluded.updated_at, ticket_status.updated_at)",
                e.ticket_id,
                STATUS[type(e)],
                e.engineer_id if isinstance(e, d.EngineerAssigned) else None,
                e.total_fen if isinstance(e, b.ChargeAssessed) else None,
                item.envelope.time,
            )


MIGRATIONS = [
    db.Migration(
        "100_ticket_status",
        "create table ticket_status (ticket_id text primary key, status text not null,"
        " engineer_id text, charge_fen bigint, updated_at timestamptz not null)",
    ),
    ARCHIVE_MIGRATION,
]


def state_at(envelopes: list[Envelope], moment: datetime) -> dict[str, tuple[object, ...]]:
    """Each ticket's (status, engineer, charge) from its events up to `moment`, by hand."""
    state: dict[str, list[object]] = {}
    for envelope in sorted(envelopes, key=lambda e: e.time):
        event = envelope.event()
        if type(event) not in STATUS or envelope.time > moment:
            continue
        row = state.setdefault(event.ticket_id, [None, None, None])
        row[0] = STATUS[type(event)]
        if isinstance(event, d.EngineerAssigned):
            row[1] = event.engineer_id
        if isinstance(event, b.ChargeAssessed):
            row[2] = event.total_fen
    return {t: tuple(r) for t, r in state.items()}


@pytest.fixture
async def conn() -> AsyncIterator[asyncpg.Connection]:
    name = f"t{uuid.uuid4().hex[:10]}_asof"
    await db.ensure_database(PG, name)
    connection = await asyncpg.connect(f"{PG}/{name}")
    await db.migrate(connection, MIGRATIONS)
    yield connection
    await connection.close()
    await drop_database(name)


def uow(connection: asyncpg.Connection) -> UnitOfWork:
    return UnitOfWork(connection, SystemClock(), Origin("/t", "cn-east", "p", "1"), lambda t: t)


async def test_a_ticket_as_it_stood_at_three_moments(
    conn: asyncpg.Connection, history: PublishedHistory
) -> None:
    charged = next(e for e in history.events if e.type == b.ChargeAssessed.event_type)
    mine = [e for e in history.events if e.subject == charged.subject]
    own = [e for e in mine if e.type.startswith("repairline.intake.")]
    for e in own:  # the service's own events are in its event store
        await conn.execute(
            "insert into events (event_id, stream_id, stream_version, event_type,"
            " schema_version, topic, envelope, recorded_at) values ($1,$2,$3,$4,$5,$6,$7,$8)",
            e.id, e.subject, e.streamversion, e.type, e.schemaversion, INTAKE_EVENTS,
            e.model_dump_json(), e.time,
        )  # fmt: skip
    others = [Delivered(e, e.event()) for e in mine if e not in own]
    await StreamArchive(list(TicketStatus.topics)).handle(uow(conn), others)
    wanted = [e for e in mine if e.type in TicketStatus.event_types]  # as its consumer reads
    await TicketStatus().handle(uow(conn), [Delivered(e, e.event()) for e in wanted])
    live = await conn.fetchrow("select * from ticket_status")

    times = {e.type: e.time for e in mine}
    moments = [
        times[i.RepairRequested.event_type] + timedelta(microseconds=1),
        times[d.ArrivedOnSite.event_type],
        times[b.ChargeAssessed.event_type] + timedelta(days=1),
    ]

    async def read(c: asyncpg.Connection) -> tuple[object, ...]:
        row = await c.fetchrow("select status, engineer_id, charge_fen from ticket_status")
        return tuple(row) if row else ()

    answers = [
        await fold_as_of(conn, TicketStatus(), await events_until(conn, charged.subject, at), read)
        for at in moments
    ]
    expected = [state_at(mine, at)[charged.subject] for at in moments]
    assert answers == expected
    assert [a[0] for a in answers] == ["requested", "on_site", "charged"]
    assert await conn.fetchrow("select * from ticket_status") == live  # live row untouched
    assert await conn.fetchval("select to_regclass('pg_temp.ticket_status')") is None


async def test_events_until_wants_an_aware_time(conn: asyncpg.Connection) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await events_until(conn, "ticket-1", datetime(2026, 10, 1))  # noqa: DTZ001


async def test_replay_until_rebuilds_a_past_state_beside_the_live_one(
    history: PublishedHistory,
) -> None:
    spec = ServiceSpec(
        name="asof",
        default_port=0,
        migrations=MIGRATIONS,
        handlers=lambda rt: [TicketStatus()],
        routes=lambda rt: APIRouter(),
    )
    database = f"{history.prefix.rstrip('.')}_asof_replay"
    settings = ServiceSettings(
        kafka_bootstrap=KAFKA, pg_dsn=PG, topic_prefix=history.prefix, database=database
    )
    rt = Runtime(spec, settings)
    await rt.open_storage()
    try:
        [live_view] = rt.handlers
        await replay_projection(rt, live_view, force=True)
        until = datetime(2026, 10, 15, 12, 0, tzinfo=CST)
        schema, stats = await replay_until(rt, until)
        assert schema == as_of_schema(until) == "asof_20261015t040000z"
        assert stats[0].events == sum(
            1 for e in history.events if e.type.split(".")[1] != "feedback"
        )
        past = await rt.pool.fetch(f"select * from {schema}.ticket_status")
        live = await rt.pool.fetch("select * from public.ticket_status")
    finally:
        await rt.pool.close()
        await drop_database(database)
    assert {r["ticket_id"]: (r["status"], r["engineer_id"], r["charge_fen"]) for r in past} == (
        state_at(history.events, until)
    )
    assert {r["ticket_id"]: (r["status"], r["engineer_id"], r["charge_fen"]) for r in live} == (
        state_at(history.events, datetime(2100, 1, 1, tzinfo=CST))
    )
    assert len(past) < len(live)
