"""Quotes and invoices through billing's real HTTP app on the real PostgreSQL: a part code
not on the pack's price list is a 422 on that part's code listing the codes it has (FEE-1),
not a 409; a quote once invoiced says `invoiced`; an invoice credited to no outlet says it
has none to settle to (FEE-6); the engineer of the job quotes, reads and records the
customer's answer, another engineer gets the 404 of a missing ticket."""

from __future__ import annotations

from datetime import UTC, datetime

from repairline_billing import commands
from repairline_billing.commands import Billing
from repairline_billing.domain.account import ChargeRepair
from repairline_billing.projections import Tickets
from repairline_contracts.dispatch import EngineerAssigned
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from tests.support.auth import token
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
        billing = Billing(rt.pack_now, rt.unit_of_work)
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


async def test_fee_4_the_engineer_of_the_job_quotes_reads_and_records_the_answer_others_404(
    runtime_of,
):
    rt = await runtime_of("billing")
    ticket_id = await _ticket(rt)
    assigned = EngineerAssigned(
        ticket_id=ticket_id,
        engineer_id="eng-q1",
        region="cn-east",
        skill="instant_water_heater",
        open_jobs_before=0,
        reason="test",
        assigned_at=NOW,
    )
    async with rt.unit_of_work() as uow:
        await Tickets().handle(uow, delivered([assigned], at=NOW, pack=PACK))
    own = token("engineer", regions=["cn-east"], engineer_id="eng-q1")
    other = token("engineer", regions=["cn-east"], engineer_id="eng-q2")
    body = {"engineer_id": "eng-q1", "parts": [{"code": "thermostat"}]}
    async with served(rt, other) as http:
        answer = await http.post(f"/tickets/{ticket_id}/quotes", json=body)
        assert answer.status_code == 404, answer.json()
    async with served(rt, own) as http:
        quoted = await http.post(f"/tickets/{ticket_id}/quotes", json=body)
        assert quoted.status_code == 201, quoted.json()
        quote_id = quoted.json()["quote_id"]
        refused = await http.post(f"/tickets/{ticket_id}/quotes/{quote_id}/refusal", json={})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "reason"
    async with served(rt, other) as http:
        assert (await http.get(f"/tickets/{ticket_id}/quotes")).json() == []
        path = f"/tickets/{ticket_id}/quotes/{quote_id}/acceptance"
        assert (await http.post(path)).status_code == 404
    async with served(rt, own) as http:
        accepted = await http.post(f"/tickets/{ticket_id}/quotes/{quote_id}/acceptance")
        assert accepted.status_code == 200, accepted.json()
        [quote] = (await http.get(f"/tickets/{ticket_id}/quotes")).json()
        assert quote["status"] == "accepted" and quote["lines"]


async def test_fee_1_each_ticket_is_quoted_and_invoiced_by_the_pack_it_was_opened_under(
    runtime_of,
):
    rt = await runtime_of("billing")  # the default pack water-heater; every shipped one loaded
    heater = await _ticket(rt)
    notebook = repair_requested(line="notebook").model_copy(update={"requested_at": NOW})
    async with rt.unit_of_work() as uow:
        await Tickets().handle(uow, delivered([notebook], at=NOW, pack=load_pack("pc-depot")))
    quoted, invoiced = {}, {}
    billing = Billing(rt.pack_now, rt.unit_of_work)
    async with served(rt) as http:
        for ticket_id in (heater, notebook.ticket_id):
            answer = await http.post(f"/tickets/{ticket_id}/quotes", json={"parts": []})
            assert answer.status_code == 201, answer.json()
            quoted[ticket_id] = answer.json()
            charged = await billing.execute(commands.charge_repair, ChargeRepair(ticket_id, NOW))
            invoiced[ticket_id] = charged.data["total_fen"]
    # FEE-1: 30 yuan on site in a provincial capital (water-heater), 100 yuan (pc-depot)
    assert {t: q["total_fen"] for t, q in quoted.items()} == {
        heater: 3000,
        notebook.ticket_id: 10000,
    }
    assert invoiced == {heater: 3000, notebook.ticket_id: 10000}
    assert quoted[notebook.ticket_id]["decision"]["pack_id"] == "pc-depot"
    stamped = await rt.pool.fetch(
        "select distinct stream_id, envelope::jsonb->>'policypack' as pack from events"
    )
    assert {r["stream_id"]: r["pack"] for r in stamped} == {
        heater: "water-heater",
        notebook.ticket_id: "pc-depot",
    }
