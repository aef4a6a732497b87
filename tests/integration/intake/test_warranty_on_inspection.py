"""The engineer's inspection at the unit decides the warranty (WAR-3, WAR-4) on intake's
real HTTP app and PostgreSQL: a ticket filed with its invoice, then dispatch's
InspectionRecorded (250 V measured) is consumed by intake's reaction; the decision is
chargeable under WAR-4 and keeps the invoice recorded at intake."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from repairline_contracts.dispatch import InspectionRecorded
from repairline_intake.reactions import WarrantyOnInspection
from repairline_rules import load_pack
from tests.support.factories import request_body
from tests.support.served import served
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2026, 6, 4, 1, 0, tzinfo=UTC)


async def test_war_4_an_inspection_at_250_v_makes_the_repair_chargeable_keeping_the_invoice(
    runtime_of,
):
    rt = await runtime_of("intake")
    invoice_date = rt.clock.now().date().replace(day=1)  # within a year of the clock
    async with served(rt) as http:
        created = await http.post(
            "/tickets", json=request_body(proof={"invoice_date": invoice_date.isoformat()})
        )
        assert created.status_code == 201, created.json()
        ticket_id = created.json()["ticket_id"]
        before = (await http.get(f"/tickets/{ticket_id}")).json()["facts"]["warranty"]
        assert before["chargeable"] is False
        inspection = InspectionRecorded(
            ticket_id=ticket_id, engineer_id="eng-1", inspected_at=NOW, supply_voltage_v=250
        )
        async with rt.unit_of_work() as uow:
            await WarrantyOnInspection(rt).handle(uow, delivered([inspection], at=NOW, pack=PACK))
        after = (await http.get(f"/tickets/{ticket_id}")).json()["facts"]["warranty"]
        assert after["chargeable"] is True and "WAR-4" in after["rule_ids"]
    rows = await rt.pool.fetch(
        "select envelope from events where stream_id = $1 order by stream_version", ticket_id
    )
    decided = [json.loads(r["envelope"]) for r in rows]
    last = [e for e in decided if e["type"].endswith("WarrantyDecided")][-1]["data"]
    assert last["proof"]["invoice_date"] == invoice_date.isoformat()  # kept
    assert float(last["proof"]["supply_voltage_v"]) == 250
