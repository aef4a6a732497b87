"""Who may file and act on a ticket: a caller's regions, a dealer's own customers, a
customer's own account; out of scope is answered as if the ticket did not exist (404)."""

from __future__ import annotations

import pytest

from repairline_contracts.intake import Channel, DealerFacts, RepairRequested
from repairline_intake import commands
from repairline_intake.domain import ticket
from repairline_platform.auth import Principal, bound_principal
from repairline_rules.refusals import InvalidInput, NotFound
from tests.unit.intake.test_commands import World


def caller(role: str, regions: tuple[str, ...] = (), **claims: str) -> Principal:
    p = Principal(f"sub-{role}", frozenset({role}), regions=frozenset(regions), **claims)
    return p.acting(frozenset({role}))


async def test_dealer_files_a_ticket_recorded_under_its_own_dealer_id_whatever_the_body():
    w = World()
    claimed = DealerFacts(dealer_id="someone-else", name="Shop")
    with bound_principal(caller("dealer", dealer_id="dl-1")):
        result = await w.request(channel=Channel.DEALER, dealer=claimed)
    [requested, *_] = w.stream(result.stream_id)
    assert isinstance(requested, RepairRequested)
    assert requested.dealer == DealerFacts(dealer_id="dl-1", name="Shop")


async def test_customer_files_a_ticket_recorded_under_its_account():
    w = World()
    with bound_principal(caller("customer", customer_id="app-7")):
        result = await w.request(channel=Channel.APP)
    [requested, *_] = w.stream(result.stream_id)
    assert isinstance(requested, RepairRequested) and requested.customer_id == "app-7"


async def test_agent_of_cn_east_cannot_file_a_cn_north_ticket():
    w = World()
    with bound_principal(caller("agent", ("cn-east",))), pytest.raises(InvalidInput):
        await w.request(region="cn-north")


async def test_agent_of_cn_north_cannot_act_on_a_cn_east_ticket_404():
    w = World()
    result = await w.request()  # cn-east, filed by the system
    cancel = ticket.CancelTicket(result.stream_id, reason="duplicate")
    with (
        bound_principal(caller("agent", ("cn-north",))),
        pytest.raises(NotFound, match=f"no ticket {result.stream_id}"),
    ):
        await commands.cancel_ticket(cancel, w.intake)
    with bound_principal(caller("agent", ("cn-east",))):
        await commands.cancel_ticket(cancel, w.intake)


async def test_dealer_cannot_act_on_another_dealers_ticket_404():
    w = World()
    with bound_principal(caller("dealer", dealer_id="dl-1")):
        result = await w.request(channel=Channel.DEALER, dealer=DealerFacts(name="Shop"))
    guidance = ticket.RequestVisit(result.stream_id, reason="insists")
    with bound_principal(caller("dealer", dealer_id="dl-2")), pytest.raises(NotFound):
        await commands.request_visit(guidance, w.intake)
