"""Who may read a ticket and how its customer is shown, on the real PostgreSQL: a
dispatcher his regions, a dealer its own tickets, a customer its own, an engineer his
assigned job (with the customer's contact only while the job is open)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from repairline_contracts.dispatch import EngineerAssigned, RepairCompleted
from repairline_contracts.intake import DealerFacts
from repairline_intake import views
from repairline_intake.projections import TicketView
from repairline_platform.auth import Principal, bound_principal
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from repairline_rules.refusals import NotFound
from tests.support.factories import repair_requested
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)
CLEAR = {"name": "Test Customer", "phone": None, "mobile": "13900000000", "address": "1 Test Road"}


def caller(role: str, regions: tuple[str, ...] = (), **claims: str) -> Principal:
    p = Principal(f"sub-{role}", frozenset({role}), regions=frozenset(regions), **claims)
    return p.acting(frozenset({role}))


async def _apply(rt: Runtime, *events: Any, at: datetime = NOW) -> None:
    async with rt.unit_of_work() as uow:
        await TicketView().handle(uow, delivered(list(events), at=at, pack=PACK))


async def _read(rt: Runtime, who: Principal, ticket_id: str) -> dict[str, Any]:
    with bound_principal(who):
        return await views.ticket(rt.pool, ticket_id)


async def test_dispatcher_of_cn_east_cannot_see_a_cn_north_ticket_404(runtime_of):
    rt = await runtime_of("intake")
    east, north = repair_requested(region="cn-east"), repair_requested(region="cn-north")
    await _apply(rt, east, north)
    east_dispatcher = caller("dispatcher", ("cn-east",))
    assert (await _read(rt, east_dispatcher, east.ticket_id))["region"] == "cn-east"
    with pytest.raises(NotFound, match=f"no ticket {north.ticket_id}"):
        await _read(rt, east_dispatcher, north.ticket_id)


async def test_dealer_sees_only_its_own_tickets_404_for_others(runtime_of):
    rt = await runtime_of("intake")
    mine = repair_requested().model_copy(update={"dealer": DealerFacts(dealer_id="dl-1", name="A")})
    other = repair_requested().model_copy(
        update={"dealer": DealerFacts(dealer_id="dl-2", name="B")}
    )
    walk_in = repair_requested()
    await _apply(rt, mine, other, walk_in)
    dealer = caller("dealer", dealer_id="dl-1")
    seen = await _read(rt, dealer, mine.ticket_id)
    assert seen["facts"]["dealer_id"] == "dl-1"
    assert seen["customer"] == CLEAR  # its own customer
    for ticket in (other, walk_in):
        with pytest.raises(NotFound):
            await _read(rt, dealer, ticket.ticket_id)


async def test_customer_sees_only_the_tickets_its_account_filed(runtime_of):
    rt = await runtime_of("intake")
    mine = repair_requested().model_copy(update={"customer_id": "app-7"})
    other = repair_requested().model_copy(update={"customer_id": "app-8"})
    await _apply(rt, mine, other)
    customer = caller("customer", customer_id="app-7")
    assert (await _read(rt, customer, mine.ticket_id))["facts"]["customer_id"] == "app-7"
    with pytest.raises(NotFound):
        await _read(rt, customer, other.ticket_id)


async def test_engineer_sees_the_contact_of_his_open_job_only(runtime_of):
    rt = await runtime_of("intake")
    ticket, other = repair_requested(), repair_requested()
    assigned = EngineerAssigned(
        ticket_id=ticket.ticket_id,
        engineer_id="eng-1",
        region="cn-east",
        skill="instant_water_heater",
        open_jobs_before=0,
        reason="DSP-1",
        assigned_at=NOW,
    )
    await _apply(rt, ticket, other, assigned)
    eng = caller("engineer", ("cn-east",), engineer_id="eng-1")
    assert (await _read(rt, eng, ticket.ticket_id))["customer"] == CLEAR
    with pytest.raises(NotFound):
        await _read(rt, eng, other.ticket_id)
    with pytest.raises(NotFound):
        await _read(rt, caller("engineer", engineer_id="eng-2"), ticket.ticket_id)

    done = RepairCompleted(
        ticket_id=ticket.ticket_id, engineer_id="eng-1", completed_at=NOW, resolution="ok"
    )
    await _apply(rt, done, at=NOW + timedelta(hours=3))
    closed = (await _read(rt, eng, ticket.ticket_id))["customer"]
    assert closed["mobile"] == "139****0000"
    assert "1 Test Road" not in str(closed)


async def test_billing_sees_a_masked_customer_and_the_view_holds_no_contact_in_facts(runtime_of):
    rt = await runtime_of("intake")
    ticket = repair_requested()
    await _apply(rt, ticket)
    seen = await _read(rt, caller("billing"), ticket.ticket_id)
    assert seen["customer"] == {
        "name": "T*",
        "phone": None,
        "mobile": "139****0000",
        "address": "…",
    }
    assert "contact" not in seen["facts"]
    assert "13900000000" not in str(seen)
