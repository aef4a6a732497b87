"""A ticket view shows its deadlines as structured moments in the pack's time zone, from
the moment they are decided, through intake's real HTTP app on the real PostgreSQL: on
site by and fixed by when dispatch assigns (DSP-3), a complaint's answer by when it is
filed (FBK-6); none yet, null."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from repairline_contracts.base import Decision
from repairline_contracts.dispatch import EngineerAssigned
from repairline_contracts.feedback import ComplaintFiled
from repairline_intake.projections import TicketView
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from tests.support.factories import repair_requested
from tests.support.served import served
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


async def _deadlines(rt: Runtime, ticket_id: str, *events: Any) -> dict[str, Any]:
    if events:
        async with rt.unit_of_work() as uow:
            await TicketView().handle(uow, delivered(list(events), at=NOW, pack=PACK))
    async with served(rt) as http:
        answer = await http.get(f"/tickets/{ticket_id}")
        assert answer.status_code == 200, answer.json()
        return answer.json()["deadlines"]


async def test_dsp_3_fbk_6_deadlines_are_structured_in_the_packs_time_zone(runtime_of):
    rt = await runtime_of("intake")
    ticket = repair_requested()
    requested = await _deadlines(rt, ticket.ticket_id, ticket)
    assert requested == {
        "time_zone": "Asia/Shanghai",
        "visit_by": None,
        "fix_by": None,
        "repair_by": None,
        "answer_by": None,
    }
    assigned = EngineerAssigned(
        ticket_id=ticket.ticket_id,
        engineer_id="eng-1",
        region="cn-east",
        skill="instant_water_heater",
        open_jobs_before=0,
        reason="DSP-1",
        assigned_at=NOW,
        visit_by=NOW + timedelta(hours=24),
        fix_by=NOW + timedelta(hours=48),
    )
    complaint = ComplaintFiled(
        ticket_id=ticket.ticket_id,
        complaint_id="c1",
        channel="hotline",
        kind="attitude",
        description="rude",
        engineer_id="eng-1",
        outlet_id=None,
        answer_by=NOW + timedelta(days=1, hours=8),
        triggers=(),
        decision=Decision(pack_id="water-heater", pack_version="1", rule_ids=("FBK-6",)),
        filed_at=NOW,
    )
    decided = await _deadlines(rt, ticket.ticket_id, assigned, complaint)
    assert decided["time_zone"] == "Asia/Shanghai"
    assert decided["visit_by"] == {"at": "2030-06-05T09:00:00+08:00", "rule_id": "DSP-3"}
    assert decided["fix_by"] == {"at": "2030-06-06T09:00:00+08:00", "rule_id": "DSP-3"}
    assert decided["repair_by"] is None
    assert decided["answer_by"] == {"at": "2030-06-05T17:00:00+08:00", "rule_id": "FBK-6"}
