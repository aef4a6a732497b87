"""Feedback decides with each ticket's own pack on the real PostgreSQL: a complaint filed
over HTTP on a pc-depot ticket, in a deployment whose default pack is water-heater, is
clocked by pc-depot's calendar (FBK-6), and its answer deadline's timer keeps that pack
for when it fires."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from repairline_contracts.dispatch import RepairCompleted
from repairline_feedback.projections import Served
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from tests.support.factories import repair_requested
from tests.support.served import served
from tests.support.system import delivered

NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)
SH = ZoneInfo("Asia/Shanghai")


async def _served(rt: Runtime, line: str, pack: str) -> str:
    """A ticket served, as feedback's copy holds it, opened under `pack`."""
    requested = repair_requested(line=line)
    done = RepairCompleted(
        ticket_id=requested.ticket_id, engineer_id="eng-1", completed_at=NOW, resolution="ok"
    )
    async with rt.unit_of_work() as uow:
        await Served().handle(uow, delivered([requested, done], at=NOW, pack=load_pack(pack)))
    return requested.ticket_id


async def test_fbk_6_a_complaint_is_clocked_by_its_ticket_pack_not_the_deployment_default(
    runtime_of,
):
    rt = await runtime_of("feedback")  # the default pack water-heater; every shipped one loaded
    filed = {}
    async with served(rt) as http:
        for line, pack in (("instant_water_heater", "water-heater"), ("notebook", "pc-depot")):
            ticket_id = await _served(rt, line, pack)
            body = {"ticket_id": ticket_id, "channel": "hotline", "kind": "attitude"}
            answer = await http.post("/complaints", json={**body, "description": "rude"})
            assert answer.status_code == 201, answer.json()
            filed[pack] = answer.json()
    closes = {
        pack: datetime.fromisoformat(f["answer_by"]).astimezone(SH).time()
        for pack, f in filed.items()
    }
    # FBK-6: 3 working days, to the close of the last: 17:30 (water-heater), 18:00 (pc-depot)
    assert closes == {"water-heater": time(17, 30), "pc-depot": time(18, 0)}
    assert {p: f["decision"]["pack_id"] for p, f in filed.items()} == {p: p for p in filed}
    timers = await rt.pool.fetch(
        "select payload->>'complaint_id' as complaint_id, policy_pack from timers"
        " where kind = 'complaint_deadline'"
    )
    kept = {r["complaint_id"]: r["policy_pack"] for r in timers}
    assert kept == {f["complaint_id"]: pack for pack, f in filed.items()}
