"""Every feedback projection rebuilt by `replay` from offset 0 equals the live one, on the
real Kafka and PostgreSQL; a projection the flow leaves empty, or one not compared, fails."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from repairline_contracts.base import Event
from repairline_contracts.dispatch import EngineerAssigned, RepairCompleted
from repairline_contracts.topics import DISPATCH_EVENTS, INTAKE_EVENTS
from repairline_feedback.main import SPEC as FEEDBACK
from repairline_feedback.projections import PROJECTIONS
from tests.support.factories import repair_requested
from tests.support.pack_source import covering
from tests.support.system import (
    System,
    connect,
    envelope_bytes,
    eventually,
    produce,
    replay_every_projection,
)

COMPLETED = datetime(2030, 6, 3, 6, 0, tzinfo=UTC)  # a Monday, 14:00 in Shanghai

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


async def _work_the_callbacks(system: System, db, tickets: list[str]) -> None:
    """FBK-2 callbacks come due; one reached and satisfied, one dissatisfied (FBK-5), one
    not reached (FBK-3); complaints filed, answered and verified (FBK-6)."""
    await eventually(
        lambda: db.fetchval("select count(*) = 4 from callbacks where status = 'scheduled'"),
        timeout=60,
    )
    service = system.feedback
    system.at(COMPLETED + timedelta(days=1, hours=3))  # Tuesday 17:00 in Shanghai
    await eventually(
        lambda: db.fetchval("select count(*) = 4 from callbacks where status = 'due'"),
        timeout=60,
    )
    first, second, third, _ = tickets
    system.ok(
        service,
        "POST",
        f"/callbacks/{first}:after_service/attempts",
        {"reached": True, "grade": "satisfied"},
    )
    sad = {"reached": True, "grade": "dissatisfied", "reason": "still leaking"}
    system.ok(service, "POST", f"/callbacks/{second}:after_service/attempts", sad)
    system.ok(service, "POST", f"/callbacks/{third}:after_service/attempts", {"reached": False})
    for ticket, kind in ((first, "attitude"), (second, "quality")):
        body = {"ticket_id": ticket, "channel": "app", "kind": kind, "description": kind}
        filed = system.ok(service, "POST", "/complaints", body)
        path = f"/complaints/{filed['complaint_id']}"
        system.ok(service, "POST", f"{path}/answer", {"answer": "sorry"})
        system.ok(
            service,
            "POST",
            f"{path}/verification",
            {"verified": kind == "attitude", "finding": "f"},
        )


async def test_replay_rebuilds_every_feedback_projection_equal_to_the_live_one(
    prefix: str, tmp_path: Path
):
    # 2030, declared a year without public holidays in the test's pack
    pack = covering(tmp_path, "water-heater", 2030)
    system = System(prefix, str(pack), ("feedback",)).start()
    service = system.feedback
    try:
        system.at(COMPLETED)
        tickets = await _served(prefix, 4)
        db = await connect(service.database)
        try:
            await _work_the_callbacks(system, db, tickets)
        finally:
            await db.close()
        drawn = system.ok(service, "POST", "/survey-samples", {"year": 2030, "percent": 100})
        assert set(drawn["sample"]) == set(tickets)
        survey = {"year": 2030, "grade": "average", "answer": "a timer", "constructive": True}
        system.ok(service, "POST", f"/surveys/{tickets[0]}", survey)
        system.ok(service, "PUT", "/key-customers/Acme", {"note": "first"})
        system.ok(service, "PUT", "/key-customers/Acme", {"note": "framework agreement"})
        # the complaints' deadlines and the callbacks' retries fire before the snapshot
        system.at(COMPLETED + timedelta(days=40))
        replayed = await replay_every_projection(service, prefix)
        live = replayed.live
        assert all(live[table] for table in TABLES.values()), live
        assert live["key_customers"] == [("Acme", "framework agreement")]
        replayed.assert_covers(FEEDBACK)
    finally:
        system.stop()
        await system.drop()
