"""Every billing projection rebuilt by `replay` from offset 0 equals the live one; a
projection not compared, or one the flow leaves empty without saying which test fills it,
fails.

Billing runs as a process on the real Kafka and PostgreSQL; other contexts' facts are
produced onto their topics, billing's own commands come over HTTP.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from repairline_billing.main import SPEC as BILLING
from repairline_billing.projections import all_projections
from repairline_contracts.base import Decision
from repairline_contracts.dispatch import (
    EngineerAssigned,
    InspectionRecorded,
    RepairCompleted,
    SlaDeadlineBreached,
)
from repairline_contracts.feedback import (
    CallbackAnswers,
    CallbackCompleted,
    ComplaintVerified,
    ExtensionRewardGranted,
)
from repairline_contracts.intake import ServiceMode, WarrantyDecided
from repairline_contracts.topics import DISPATCH_EVENTS, FEEDBACK_EVENTS, INTAKE_EVENTS
from tests.support.factories import repair_requested
from tests.support.system import (
    System,
    connect,
    envelope_bytes,
    eventually,
    produce,
    replay_every_projection,
    send,
)

PACK = "office-equipment"  # FEE-8 contracts and PEN-1 complaint fines
AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DECIDED = Decision(pack_id=PACK, pack_version="1", rule_ids=("WAR-1",))
TABLES = sorted({t for p in all_projections() for t in p.tables})


def assigned(ticket_id: str) -> EngineerAssigned:
    return EngineerAssigned(
        ticket_id=ticket_id,
        engineer_id="eng-1",
        region="cn-east",
        skill="copier",
        open_jobs_before=0,
        reason="nearest",
        assigned_at=AT,
    )


def completed(ticket_id: str) -> RepairCompleted:
    return RepairCompleted(
        ticket_id=ticket_id, engineer_id="eng-1", completed_at=AT, resolution="fixed"
    )


def warranty(ticket_id: str) -> WarrantyDecided:
    return WarrantyDecided(
        ticket_id=ticket_id,
        unit_in_warranty=False,
        free_visit=False,
        chargeable=True,
        reason="out of warranty",
        decided_at=AT,
        decision=DECIDED,
        product_line="copier",
        service_mode=ServiceMode.ON_SITE,
    )


def breached(ticket_id: str) -> SlaDeadlineBreached:
    """DSP-3: the visit deadline missed, a fact for PEN-8."""
    return SlaDeadlineBreached(
        ticket_id=ticket_id,
        deadline="visit",
        due_at=AT,
        state="assigned",
        decision=Decision(pack_id=PACK, pack_version="1", rule_ids=("DSP-3",)),
        detected_at=AT,
    )


def overcharged(ticket_id: str) -> ComplaintVerified:
    return ComplaintVerified(
        ticket_id=ticket_id,
        complaint_id=f"C-{uuid.uuid4().hex[:8]}",
        kind="overcharge",
        engineer_id="eng-1",
        outlet_id=None,
        amount_paid_fen=99000,
        finding="paid more than the tariff",
        triggers=("FEE-5", "PEN-1"),
        verified_at=AT,
    )


def graded(ticket_id: str) -> CallbackCompleted:
    """FBK-5: the customer reached and satisfied, a fact for PEN-8."""
    return CallbackCompleted(
        ticket_id=ticket_id,
        callback_id=f"{ticket_id}:after_service",
        attempt=1,
        answers=CallbackAnswers(on_time=True),
        grade="satisfied",
        reason=None,
        engineer_id="eng-1",
        outlet_id="o1",
        decision=DECIDED,
        completed_at=AT,
    )


def rewarded(ticket_id: str, serial_no: str) -> ExtensionRewardGranted:
    return ExtensionRewardGranted(
        ticket_id=ticket_id,
        serial_no=serial_no,
        reward="free_repair",
        extended_ends_on=None,
        reason="constructive survey answer",
        decision=DECIDED,
        granted_at=AT,
    )


async def test_every_billing_projection_is_rebuilt_by_replay_equal_to_the_live_one(prefix: str):
    system = System(prefix, PACK, ("billing",)).start()
    service = system.billing
    try:
        roster = {"name": "East", "region": "cn-east", "engineer_ids": ["eng-1"]}
        assert service.request("PUT", "/outlets/o1", roster)[0] == 200
        t1, t2, t3 = (repair_requested(line="copier") for _ in range(3))
        contract = {"serial_no": t1.product.serial_no, "starts_on": "2026-01-05"}
        assert service.request("PUT", "/contracts/K1", contract)[0] == 200
        # the tickets' events name their pack, office-equipment (FEE-8, PEN-1)
        await send(prefix, INTAKE_EVENTS, [t1, t2, t3, warranty(t2.ticket_id)], pack=PACK)
        assignments = [assigned(t.ticket_id) for t in (t1, t2, t3)]
        await send(prefix, DISPATCH_EVENTS, assignments, pack=PACK)
        done = [completed(t1.ticket_id), completed(t2.ticket_id)]
        await send(prefix, DISPATCH_EVENTS, done, pack=PACK)
        await send(prefix, DISPATCH_EVENTS, [breached(t3.ticket_id)], pack=PACK)
        # WAR-4: t3's inspection and intake's decision on it (the quote below waits for it)
        inspection_id = f"ev-inspection-{t3.ticket_id}"
        inspected = InspectionRecorded(
            ticket_id=t3.ticket_id, engineer_id="eng-1", inspected_at=AT, misuse=True
        )
        await produce(
            prefix + DISPATCH_EVENTS,
            [(t3.ticket_id.encode(), envelope_bytes(inspected, event_id=inspection_id, pack=PACK))],
        )
        on_inspection = envelope_bytes(
            warranty(t3.ticket_id), pack=PACK, causation_id=inspection_id
        )
        await produce(prefix + INTAKE_EVENTS, [(t3.ticket_id.encode(), on_inspection)])
        reward = rewarded(t3.ticket_id, t3.product.serial_no or "")
        feedback = [overcharged(t2.ticket_id), reward, graded(t1.ticket_id)]
        await send(prefix, FEEDBACK_EVENTS, feedback, pack=PACK)
        db = await connect(service.database)
        try:
            await eventually(lambda: _counts_reached(db), timeout=90)
        finally:
            await db.close()
        for path, body in (
            (f"/tickets/{t3.ticket_id}/quotes", {}),
            ("/outlets/o1/settlements", {"period": "2026-03"}),
            ("/engineers/eng-1/assessments", {"period": "2026-03"}),
        ):
            status, answer = service.request("POST", path, body)
            assert status == 201, answer
        replayed = await replay_every_projection(service, prefix)
        assert set(replayed.live) == set(TABLES)
        # FEE-7 trips: this pack has no travel allowance; the software-support month
        # (tests/e2e/test_software_support_month.py) fills and replays them
        replayed.assert_covers(BILLING, filled_elsewhere=("trips",))
    finally:
        system.stop()
        await system.drop()


async def _counts_reached(db) -> bool:
    wanted = {
        "billing_tickets": 3,
        "ticket_assignments": 3,
        "ticket_warranty": 2,
        "ticket_inspections": 1,
        "warranty_causes": 2,
        "charges": 2,
        "refunds": 1,
        "penalties": 2,
        "rewards": 1,
        "callback_grades": 1,
        "sla_breaches": 1,
    }
    for table, n in wanted.items():
        if await db.fetchval(f"select count(*) from {table}") < n:
            return False
    return True


def test_the_replay_covers_every_table_billing_keeps():
    assert set(TABLES) >= {
        "billing_tickets",
        "ticket_assignments",
        "ticket_warranty",
        "rewards",
        "outlets",
        "engineer_outlets",
        "contracts",
        "charges",
        "quotes",
        "penalties",
        "refunds",
        "settlements",
        "trips",
        "callback_grades",
        "sla_breaches",
        "assessments",
    }
