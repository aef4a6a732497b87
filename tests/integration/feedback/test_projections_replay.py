"""Feedback's projections on the real PostgreSQL and Kafka: order-insensitive folds, and
every one of them rebuilt by replay from offset 0 equal to the live one."""

from __future__ import annotations

import itertools
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from repairline_contracts.base import Event
from repairline_contracts.dispatch import EngineerAssigned, RepairCompleted
from repairline_contracts.envelope import wrap
from repairline_contracts.feedback import CallbackAnswers
from repairline_contracts.topics import DISPATCH_EVENTS, INTAKE_EVENTS
from repairline_feedback.domain import complaint as complaints
from repairline_feedback.domain import followup
from repairline_feedback.main import SPEC as FEEDBACK
from repairline_feedback.projections import PROJECTIONS, CallbackList, Complaints, Served
from repairline_platform.eventstore import Delivered
from repairline_platform.runtime import Runtime
from repairline_platform.settings import ServiceSettings
from repairline_rules import load_pack
from tests.support.factories import repair_requested
from tests.support.system import (
    KAFKA,
    PG,
    ROOT,
    ServiceProcess,
    connect,
    drop_database,
    envelope_bytes,
    eventually,
    produce,
)

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)
COMPLETED = datetime(2030, 6, 3, 6, 0, tzinfo=UTC)  # a Monday, 14:00 in Shanghai


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


@pytest.fixture
async def rt(prefix: str) -> AsyncIterator[Runtime]:
    runtime = Runtime(
        FEEDBACK,
        ServiceSettings(
            kafka_bootstrap=KAFKA,
            pg_dsn=PG,
            topic_prefix=prefix,
            database=f"{prefix.rstrip('.')}_feedback",
            clock="simulated",
        ),
    )
    await runtime.open_storage()
    try:
        yield runtime
    finally:
        await runtime.pool.close()
        await drop_database(runtime.database)


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


async def test_callbacks_complaints_and_the_served_list_fold_the_same_in_any_order(rt):
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
    items = delivered([scheduled, first, unreached, second, done])
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
        rt, Complaints(), delivered([filed, answered, verified]), itertools.permutations(range(3))
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
        rt, Served(), delivered([request, assigned, completed]), itertools.permutations(range(3))
    )


# -- replay: every projection rebuilt from offset 0 equals the live one -------------------

TABLES = {
    "callback-list": "callbacks",
    "served": "served",
    "complaints": "complaints",
    "cases": "cases",
    "surveys": "surveys",
    "survey-samples": "survey_samples",
    "key-customers": "key_customers",
}


def test_every_projection_of_feedback_is_covered_by_the_replay_test():
    assert {p.name: p.tables[0] for p in PROJECTIONS} == TABLES
    assert all(len(p.tables) == 1 for p in PROJECTIONS)


async def _served(prefix: str, n: int) -> list[str]:
    """`n` repairs requested, assigned and completed, produced as intake and dispatch would."""
    requests = [repair_requested(purchase_date=date(2029, 1, 10)) for _ in range(n)]
    completed_at = COMPLETED
    dispatch: list[Event] = []
    for r in requests:
        dispatch.append(
            EngineerAssigned(
                ticket_id=r.ticket_id,
                engineer_id="eng-1",
                region="cn-east",
                skill="instant_water_heater",
                open_jobs_before=0,
                reason="nearest",
                assigned_at=completed_at,
                service_point_id="outlet-1",
            )
        )
        dispatch.append(
            RepairCompleted(
                ticket_id=r.ticket_id,
                engineer_id="eng-1",
                completed_at=completed_at,
                resolution="fixed",
            )
        )
    await produce(
        prefix + INTAKE_EVENTS, [(r.ticket_id.encode(), envelope_bytes(r)) for r in requests]
    )
    await produce(
        prefix + DISPATCH_EVENTS, [(e.ticket_id.encode(), envelope_bytes(e)) for e in dispatch]
    )
    return [r.ticket_id for r in requests]


def _at(service: ServiceProcess, when: datetime) -> None:
    """Move the service's simulated clock forward to `when`."""
    now = datetime.fromisoformat(_ok(service, "GET", "/admin/clock")["now"])
    _ok(service, "POST", "/admin/clock/advance", {"seconds": (when - now).total_seconds()})


def _ok(service: ServiceProcess, method: str, path: str, body=None):
    status, answer = service.request(method, path, body)
    assert status in (200, 201), (method, path, status, answer)
    return answer


async def _snapshot(db) -> dict[str, list[tuple]]:
    snapshot = {}
    for table in TABLES.values():
        rows = await db.fetch(f"select * from {table} order by 1")
        snapshot[table] = [tuple(r.values()) for r in rows]
    return snapshot


async def _work_the_callbacks(service: ServiceProcess, db, tickets: list[str]) -> None:
    """FBK-2 callbacks come due; one reached and satisfied, one dissatisfied (FBK-5), one
    not reached (FBK-3); complaints filed, answered and verified (FBK-6)."""
    await eventually(
        lambda: db.fetchval("select count(*) = 4 from callbacks where status = 'scheduled'"),
        timeout=60,
    )
    _at(service, COMPLETED + timedelta(days=1, hours=3))  # Tuesday 17:00 in Shanghai
    await eventually(
        lambda: db.fetchval("select count(*) = 4 from callbacks where status = 'due'"),
        timeout=60,
    )
    first, second, third, _ = tickets
    _ok(
        service,
        "POST",
        f"/callbacks/{first}:after_service/attempts",
        {"reached": True, "grade": "satisfied"},
    )
    sad = {"reached": True, "grade": "dissatisfied", "reason": "still leaking"}
    _ok(service, "POST", f"/callbacks/{second}:after_service/attempts", sad)
    _ok(service, "POST", f"/callbacks/{third}:after_service/attempts", {"reached": False})
    for ticket, kind in ((first, "attitude"), (second, "quality")):
        body = {"ticket_id": ticket, "channel": "app", "kind": kind, "description": kind}
        filed = _ok(service, "POST", "/complaints", body)
        path = f"/complaints/{filed['complaint_id']}"
        _ok(service, "POST", f"{path}/answer", {"answer": "sorry"})
        _ok(
            service,
            "POST",
            f"{path}/verification",
            {"verified": kind == "attitude", "finding": "f"},
        )


async def test_replay_rebuilds_every_feedback_projection_equal_to_the_live_one(prefix: str):
    database = f"{prefix.rstrip('.')}_feedback"
    service = ServiceProcess("feedback", prefix=prefix, database=database).start()
    try:
        _at(service, COMPLETED)
        tickets = await _served(prefix, 4)
        db = await connect(database)
        try:
            await _work_the_callbacks(service, db, tickets)
            drawn = _ok(service, "POST", "/survey-samples", {"year": 2030, "percent": 100})
            assert set(drawn["sample"]) == set(tickets)
            survey = {"year": 2030, "grade": "average", "answer": "a timer", "constructive": True}
            _ok(service, "POST", f"/surveys/{tickets[0]}", survey)
            _ok(service, "PUT", "/key-customers/Acme", {"note": "first"})
            _ok(service, "PUT", "/key-customers/Acme", {"note": "framework agreement"})
            # the complaints' deadlines and the callbacks' retries fire before the snapshot
            _at(service, COMPLETED + timedelta(days=40))
            await eventually(
                lambda: db.fetchval(
                    "select count(*) = 0 from timers where fired_at is null and due_at <= $1",
                    datetime.fromisoformat(_ok(service, "GET", "/admin/clock")["now"]),
                ),
                timeout=60,
            )
            live = await _snapshot(db)
            assert all(live[table] for table in TABLES.values()), live
            assert live["key_customers"] == [("Acme", "framework agreement")]
            assert service.terminate() == 0
            done = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "repairline-feedback"), "replay"],
                env={**os.environ, **service.env},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            assert await _snapshot(db) == live
        finally:
            await db.close()
    finally:
        service.terminate()
        await drop_database(database)
