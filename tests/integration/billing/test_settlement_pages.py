"""FEE-6: a statement whose lines came in pages is put together by billing's projection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from repairline_billing.domain import settlement
from repairline_billing.domain.settlement import InvoiceEarned, PeriodItems
from repairline_billing.migrations import MIGRATIONS
from repairline_billing.projections import Settlements
from repairline_billing.views import statement
from repairline_contracts.envelope import wrap
from repairline_platform import db
from repairline_platform.clock import FixedClock
from repairline_platform.eventstore import Delivered, Origin, UnitOfWork
from repairline_rules import load_pack
from tests.support.system import scratch_database

NOW = datetime(2030, 6, 3, 2, 0, tzinfo=UTC)


def delivered(event) -> Delivered:
    env = wrap(
        event, event_id=str(uuid.uuid4()), source="/billing", time=NOW, region="cn-east",
        policy_pack="water-heater", policy_version="1", correlation_id="c", causation_id="c",
        stream_version=1,
    )  # fmt: skip
    return Delivered(env, env.event())


async def test_fee_6_paged_lines_arriving_in_two_batches_make_one_statement_with_every_line():
    items = PeriodItems(
        invoices=tuple(InvoiceEarned(f"ev-{i:05d}", f"t{i}", 3000, None) for i in range(5000))
    )
    *pages, header = settlement.decide(
        False,
        settlement.IssueStatement("o1", "2030-05"),
        pack=load_pack("water-heater"),
        items=items,
        earlier=[],
        voided=[],
        now=NOW,
    )
    assert len(pages) > 2
    async with scratch_database("settlements") as pool, pool.acquire() as conn:
        await db.migrate(conn, MIGRATIONS)
        uow = UnitOfWork(
            conn=conn,
            clock=FixedClock(NOW),
            origin=Origin("/billing", "cn-east", "water-heater", "1"),
            topic_for=lambda t: t,
        )
        projection = Settlements()
        first, rest = pages[:2], [*pages[2:], header]
        await projection.handle(uow, [delivered(e) for e in first])
        await projection.handle(uow, [delivered(e) for e in rest])
        await projection.handle(uow, [delivered(header)])  # a redelivery changes nothing
        answer = await statement(conn, "o1", "2030-05")
    assert len(answer["lines"]) == 5000
    whole = settlement.with_lines(header, pages)  # the lines in the statement's order
    assert [line["ref_id"] for line in answer["lines"]] == [x.ref_id for x in whole.lines]
    assert answer["net_fen"] == sum(line["amount_fen"] for line in answer["lines"])
