"""Quotes and invoices through billing's real HTTP app on the real PostgreSQL: a part code
not on the pack's price list is a 422 on that part's code listing the codes it has (FEE-1),
not a 409; a quote once invoiced says `invoiced`; an invoice credited to no outlet says it
has none to settle to (FEE-6)."""

from __future__ import annotations

from datetime import UTC, datetime

from repairline_billing import commands
from repairline_billing.commands import Billing
from repairline_billing.domain.account import ChargeRepair
from repairline_billing.projections import Tickets
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from tests.support.factories import repair_requested
from tests.support.served import served
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)


async def _ticket(rt: Runtime) -> str:
    ticket = repair_requested().model_copy(update={"requested_at": NOW})
    async with rt.unit_of_work() as uow:
        await Tickets().handle(uow, delivered([ticket], at=NOW, pack=PACK))
    return ticket.ticket_id


async def test_fee_4_a_quote_once_invoiced_says_so_and_fee_6_an_invoice_without_outlet_is_flagged(
    runtime_of,
):
    rt = await runtime_of("billing")
    ticket_id = await _ticket(rt)
    async with served(rt) as http:
        quoted = await http.post(
            f"/tickets/{ticket_id}/quotes", json={"parts": [{"code": "thermostat"}]}
        )
        quote_id = quoted.json()["quote_id"]
        accepted = await http.post(f"/tickets/{ticket_id}/quotes/{quote_id}/acceptance")
        assert accepted.status_code == 200, accepted.json()
        [quote] = (await http.get(f"/tickets/{ticket_id}/quotes")).json()
        assert quote["status"] == "accepted"
        billing = Billing(rt.pack, rt.unit_of_work)
        await billing.execute(commands.charge_repair, ChargeRepair(ticket_id, NOW))
        [quote] = (await http.get(f"/tickets/{ticket_id}/quotes")).json()
        assert quote["status"] == "invoiced"
        invoice = (await http.get(f"/tickets/{ticket_id}/invoice")).json()
        assert invoice["quote_id"] == quote_id
        assert invoice["outlet_id"] is None and invoice["no_outlet_to_settle_to"] is True


async def test_fee_1_an_unknown_part_code_is_a_422_on_its_code_listing_the_known_ones(runtime_of):
    rt = await runtime_of("billing")
    ticket = await _ticket(rt)
    async with served(rt) as http:
        parts = [{"code": "thermostat"}, {"code": "flux_capacitor"}]
        answer = await http.post(f"/tickets/{ticket}/quotes", json={"parts": parts})
        assert answer.status_code == 422, answer.json()
        body = answer.json()
        assert body["error"] == "validation_failed"
        [error] = body["errors"]
        assert error["field"] == "parts.1.code"
        assert "thermostat" in error["reason"] and "heating_element" in error["reason"]
        listed = await http.post(
            f"/tickets/{ticket}/quotes", json={"parts": [{"code": "thermostat"}]}
        )
        assert listed.status_code == 201, listed.json()
