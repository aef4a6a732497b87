"""The status a ticket view shows says what happened, through intake's real HTTP app on
the real PostgreSQL: a ticket closed by phone guidance (INT-5) whose FBK-1 callback is
scheduled is not `repair_completed`; a repaired one is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from repairline_contracts.base import Decision
from repairline_contracts.dispatch import RepairCompleted
from repairline_contracts.feedback import CallbackScheduled
from repairline_contracts.intake import PhoneGuidanceGiven
from repairline_intake.projections import TicketView
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from tests.support.factories import repair_requested
from tests.support.served import served
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)
DECISION = Decision(pack_id="water-heater", pack_version="1", rule_ids=("FBK-1",))


def callback(ticket_id: str, reason: str) -> CallbackScheduled:
    return CallbackScheduled(
        ticket_id=ticket_id,
        callback_id=f"cb-{ticket_id}",
        due_at=NOW + timedelta(hours=2),
        reason=reason,
        decision=DECISION,
    )


async def _status(rt: Runtime, *events: Any) -> str:
    async with rt.unit_of_work() as uow:
        await TicketView().handle(uow, delivered(list(events), at=NOW, pack=PACK))
    async with served(rt) as http:
        answer = await http.get(f"/tickets/{events[0].ticket_id}")
        assert answer.status_code == 200, answer.json()
        return answer.json()["status"]


async def test_int_5_fbk_1_a_ticket_closed_by_guidance_is_not_repair_completed(runtime_of):
    rt = await runtime_of("intake")
    ticket = repair_requested()
    guided = PhoneGuidanceGiven(
        ticket_id=ticket.ticket_id,
        guided_at=NOW,
        notes="reset the unit",
        callback_due_at=NOW + timedelta(hours=2),
        decision=DECISION,
    )
    status = await _status(rt, ticket, guided, callback(ticket.ticket_id, "after_guidance"))
    assert status == "phone_guidance_given"


async def test_fbk_1_a_repaired_ticket_with_its_callback_scheduled_is_repair_completed(runtime_of):
    rt = await runtime_of("intake")
    ticket = repair_requested()
    repaired = RepairCompleted.model_validate(
        {
            "ticket_id": ticket.ticket_id,
            "engineer_id": "eng-1",
            "completed_at": NOW,
            "resolution": "replaced the thermostat",
        }
    )
    status = await _status(rt, ticket, repaired, callback(ticket.ticket_id, "after_service"))
    assert status == "repair_completed"
