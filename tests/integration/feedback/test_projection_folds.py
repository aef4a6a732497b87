"""Feedback's projections are order-insensitive folds on the real PostgreSQL: every order
of the same events gives the same rows (what makes replay from offset 0 equal the live view)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from repairline_contracts.dispatch import EngineerAssigned, RepairCompleted
from repairline_contracts.feedback import CallbackAnswers
from repairline_feedback.domain import complaint as complaints
from repairline_feedback.domain import followup
from repairline_feedback.projections import CallbackList, Complaints, Served
from repairline_feedback.store import PostgresStore
from repairline_rules import load_pack
from tests.support.factories import repair_requested, warranty_decided
from tests.support.system import delivered, every_order_gives_the_same_rows, orders

PACK = load_pack("water-heater")
NOW = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)


async def test_callbacks_complaints_and_the_served_list_fold_the_same_in_any_order(runtime_of):
    rt = await runtime_of("feedback")
    cid = "t1:after_service"
    scheduled = followup.schedule_after_service(PACK, ticket_id="t1", completed_at=NOW)
    first = followup.fire(scheduled.due_at, ticket_id="t1", callback_id=cid, now=NOW)
    unreached = followup.decide_unreached(
        PACK, followup.Callback(cid, due_attempt=1), ticket_id="t1", now=NOW
    )
    second = followup.fire(scheduled.due_at, ticket_id="t1", callback_id=cid, now=NOW, attempt=2)
    [done] = followup.decide_outcome(
        PACK,
        followup.Callback(cid, due_attempt=2, attempts=1),
        followup.Outcome(CallbackAnswers(on_time=True), "satisfied", None),
        ticket_id="t1",
        engineer_id="e1",
        outlet_id="o1",
        case_id="k",
        now=NOW,
    )
    items = delivered([scheduled, first, unreached, second, done], at=NOW, pack=PACK)
    await every_order_gives_the_same_rows(rt, CallbackList(), items, orders(5))
    async with rt.pool.acquire() as conn:
        row = await conn.fetchrow("select * from callbacks")
    assert (row["status"], row["due_attempt"], row["attempts"], row["grade"]) == (
        "completed",
        2,
        1,
        "satisfied",
    )

    filed = complaints.decide_complaint(
        PACK,
        complaint_id="c1",
        ticket_id="t1",
        channel="app",
        kind="attitude",
        description="x",
        engineer_id="e1",
        outlet_id=None,
        amount_paid_fen=None,
        now=NOW,
    )
    complaint = complaints.fold_complaint([filed])
    answered = complaints.decide_answer(complaint, answer="sorry", now=NOW)
    verified = complaints.decide_verification(complaint, verified=True, finding="y", now=NOW)
    await every_order_gives_the_same_rows(
        rt,
        Complaints(),
        delivered([filed, answered, verified], at=NOW, pack=PACK),
        itertools.permutations(range(3)),
    )

    request = repair_requested("t1")
    assigned = EngineerAssigned(
        ticket_id="t1",
        engineer_id="e1",
        region="cn-east",
        skill="s",
        open_jobs_before=0,
        reason="r",
        assigned_at=NOW,
    )
    completed = RepairCompleted(
        ticket_id="t1", engineer_id="e1", completed_at=NOW, resolution="fixed"
    )
    await every_order_gives_the_same_rows(
        rt,
        Served(),
        delivered([request, assigned, completed], at=NOW, pack=PACK),
        itertools.permutations(range(3)),
    )


async def test_war_5_int_3_the_served_list_keeps_the_start_intake_published(runtime_of):
    """WAR-11 counts from the date intake's WarrantyDecided published (the sales record
    here), not from the stated 2020 date; the later decision wins, in any order with the
    request."""
    rt = await runtime_of("feedback")
    requested = repair_requested("t-dated", purchase_date=date(2020, 1, 1))
    decided = warranty_decided(
        "t-dated",
        start_date=date(2025, 11, 29),
        start_source="serial_lookup",
        days_paused=12,
        at=NOW,
    )
    items = delivered([requested, decided], at=NOW, pack=PACK)
    await every_order_gives_the_same_rows(rt, Served(), items, [(0, 1), (1, 0)])
    async with rt.unit_of_work() as uow:
        served = await PostgresStore().served(uow, "t-dated")
    assert served is not None
    assert (served.warranty_start, served.warranty_source, served.days_paused) == (
        date(2025, 11, 29),
        "serial_lookup",
        12,
    )
    assert served.purchase_date == date(2020, 1, 1)
