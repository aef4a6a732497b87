"""A quote's refusals name the field, through billing's real HTTP app on the real
PostgreSQL: a part code not on the pack's price list is a 422 on that part's code listing
the codes it has (FEE-1), not a 409."""

from __future__ import annotations

from datetime import UTC, datetime

from repairline_billing.projections import Tickets
from repairline_rules import load_pack
from tests.support.factories import repair_requested
from tests.support.served import served
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)


async def test_fee_1_an_unknown_part_code_is_a_422_on_its_code_listing_the_known_ones(runtime_of):
    rt = await runtime_of("billing")
    ticket = repair_requested().model_copy(update={"requested_at": NOW})
    async with rt.unit_of_work() as uow:
        await Tickets().handle(uow, delivered([ticket], at=NOW, pack=PACK))
    async with served(rt) as http:
        parts = [{"code": "thermostat"}, {"code": "flux_capacitor"}]
        answer = await http.post(f"/tickets/{ticket.ticket_id}/quotes", json={"parts": parts})
        assert answer.status_code == 422, answer.json()
        body = answer.json()
        assert body["error"] == "validation_failed"
        [error] = body["errors"]
        assert error["field"] == "parts.1.code"
        assert "thermostat" in error["reason"] and "heating_element" in error["reason"]
        listed = await http.post(
            f"/tickets/{ticket.ticket_id}/quotes", json={"parts": [{"code": "thermostat"}]}
        )
        assert listed.status_code == 201, listed.json()
