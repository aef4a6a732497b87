"""Billing's projections are order-insensitive folds: every order of the
same events gives the same rows (what makes replay from offset 0 equal the live view)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from repairline_billing import domain as billing
from repairline_billing.main import SPEC as BILLING
from repairline_billing.projections import Penalties, Quotes
from repairline_contracts.base import Event
from repairline_contracts.envelope import wrap
from repairline_platform.eventstore import Delivered
from repairline_platform.runtime import Runtime
from repairline_platform.settings import ServiceSettings
from repairline_rules import load_pack
from tests.support.system import KAFKA, PG, drop_database

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)


def delivered(events: list[Event]) -> list[Delivered]:
    return [
        Delivered(
            wrap(
                e,
                event_id=str(uuid.uuid4()),
                source="/tests",
                time=NOW,
                region="cn-east",
                policy_pack=PACK.id,
                policy_version=PACK.version,
                correlation_id="c",
                causation_id="c",
                stream_version=n,
            ),
            e,
        )
        for n, e in enumerate(events, 1)
    ]


async def storage(spec, prefix: str) -> Runtime:
    rt = Runtime(
        spec,
        ServiceSettings(
            kafka_bootstrap=KAFKA,
            pg_dsn=PG,
            topic_prefix=prefix,
            database=f"{prefix.rstrip('.')}_{spec.name}",
            clock="simulated",
        ),
    )
    await rt.open_storage()
    return rt


@pytest.fixture
async def runtimes(prefix: str) -> AsyncIterator[dict[str, Runtime]]:
    rts = {"billing": await storage(BILLING, prefix)}
    try:
        yield rts
    finally:
        for rt in rts.values():
            await rt.pool.close()
            await drop_database(rt.database)


async def every_order_gives_the_same_rows(rt: Runtime, handler, items, orders) -> None:
    snapshots = set()
    for order in orders:
        async with rt.unit_of_work() as uow:
            for table in handler.tables:
                await uow.conn.execute(f"truncate {table}")
            for i in order:
                await handler.handle(uow, [items[i]])
            rows = []
            for table in handler.tables:
                rows += [
                    tuple(r.values())
                    for r in await uow.conn.fetch(f"select * from {table} order by 1")
                ]
        snapshots.add(repr(rows))
    assert len(snapshots) == 1


def orders(n: int, limit: int = 24) -> list[tuple[int, ...]]:
    return list(itertools.islice(itertools.permutations(range(n)), 0, None, 5))[:limit]


async def test_the_penalty_ledger_and_quotes_fold_the_same_in_any_order(runtimes):
    rt = runtimes["billing"]
    complaint = billing.VerifiedComplaint("c1", "t1", "attitude", "e1", "o1", None, NOW, "ev")
    penalty = billing.decide_complaint_penalty(PACK, complaint, earlier=[], now=NOW)
    state = billing.PenaltyState(penalty.penalty_id, "assessed")
    appealed = billing.decide_appeal(state, "t1", reason="not me", now=NOW)
    voided = billing.decide_ruling(
        billing.PenaltyState(penalty.penalty_id, "appealed"),
        "t1",
        void=True,
        manager_id="m",
        reason="r",
        now=NOW + timedelta(hours=1),
    )
    items = delivered([penalty, appealed, voided])
    await every_order_gives_the_same_rows(rt, Penalties(), items, itertools.permutations(range(3)))

    facts = billing.TicketFacts("t1", "instant_water_heater", "municipality", "on_site", None)
    quote = billing.decide_quote(
        PACK, billing.Account("t1"), facts, billing.QuoteRequest(), quote_id="q1", now=NOW
    )
    account = billing.evolve(billing.Account("t1"), quote)
    accepted = billing.decide_acceptance(account, "q1", now=NOW)
    await every_order_gives_the_same_rows(
        rt, Quotes(), delivered([quote, accepted]), [(0, 1), (1, 0)]
    )
