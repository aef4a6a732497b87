"""An integrator finds a ticket by the numbers its customer was told (INT-2) and lists
tickets by status, region, engineer and request time, a page at a time, through intake's
real HTTP app on the real PostgreSQL; each caller sees only what he may read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from repairline_contracts.dispatch import EngineerAssigned
from repairline_contracts.intake import DealerFacts
from repairline_intake.projections import TicketView
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from tests.support.auth import token
from tests.support.factories import repair_requested
from tests.support.served import served
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)


def requested(at: datetime, **changes: Any) -> Any:
    region = changes.pop("region", "cn-east")
    return repair_requested(region=region).model_copy(update={"requested_at": at, **changes})


def assigned(ticket_id: str, engineer_id: str) -> EngineerAssigned:
    return EngineerAssigned(
        ticket_id=ticket_id,
        engineer_id=engineer_id,
        region="cn-east",
        skill="instant_water_heater",
        open_jobs_before=0,
        reason="DSP-1",
        assigned_at=NOW,
    )


async def _apply(rt: Runtime, *events: Any) -> None:
    async with rt.unit_of_work() as uow:
        await TicketView().handle(uow, delivered(list(events), at=NOW, pack=PACK))


def ids(page: dict[str, Any]) -> list[str]:
    return [t["ticket_id"] for t in page["tickets"]]


async def test_a_ticket_is_found_by_its_service_request_or_repair_order_number_int_2(runtime_of):
    rt = await runtime_of("intake")
    wanted, other = requested(NOW), requested(NOW)
    await _apply(rt, wanted, other)
    async with served(rt) as http:
        for number in (wanted.service_request_no, wanted.repair_order_no):
            answer = await http.get("/tickets", params={"number": number})
            assert answer.status_code == 200, answer.json()
            assert ids(answer.json()) == [wanted.ticket_id]
            found = answer.json()["tickets"][0]
            assert found["service_request_no"] == wanted.service_request_no
            assert found["repair_order_no"] == wanted.repair_order_no
            assert found["status"] == "requested"
        nothing = await http.get("/tickets", params={"number": "SR-NOBODY"})
        assert nothing.json() == {"tickets": [], "next": None}


async def test_the_list_filters_by_status_region_engineer_and_request_time(runtime_of):
    rt = await runtime_of("intake")
    early = requested(NOW - timedelta(days=2))
    late = requested(NOW - timedelta(hours=1))
    north = requested(NOW - timedelta(hours=2), region="cn-north")
    await _apply(rt, early, late, north, assigned(late.ticket_id, "eng-7"))
    async with served(rt) as http:

        async def listed(**params: Any) -> list[str]:
            answer = await http.get("/tickets", params=params)
            assert answer.status_code == 200, answer.json()
            return ids(answer.json())

        assert await listed(status="engineer_assigned") == [late.ticket_id]
        assert await listed(status="requested") == [early.ticket_id, north.ticket_id]
        assert await listed(region="cn-north") == [north.ticket_id]
        assert await listed(engineer_id="eng-7") == [late.ticket_id]
        since = (NOW - timedelta(days=1)).isoformat()
        assert await listed(requested_from=since) == [north.ticket_id, late.ticket_id]
        assert await listed(requested_to=since) == [early.ticket_id]


async def test_the_list_comes_a_page_at_a_time_each_ticket_once(runtime_of):
    rt = await runtime_of("intake")
    tickets = [requested(NOW - timedelta(minutes=n)) for n in range(5)]
    await _apply(rt, *tickets)
    oldest_first = [t.ticket_id for t in reversed(tickets)]
    async with served(rt) as http:
        seen, after, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"after": after} if after else {})}
            page = (await http.get("/tickets", params=params)).json()
            seen += ids(page)
            pages += 1
            after = page["next"]
            if after is None:
                break
        assert seen == oldest_first
        assert pages == 3
        forged = await http.get("/tickets", params={"after": "not-a-cursor"})
        assert forged.status_code == 422
        assert forged.json()["errors"][0]["field"] == "after"


async def test_a_caller_lists_only_the_tickets_he_may_read(runtime_of):
    rt = await runtime_of("intake")
    east, north = requested(NOW), requested(NOW, region="cn-north")
    dealers = requested(NOW, dealer=DealerFacts(dealer_id="dl-1", name="A"))
    mine = requested(NOW, customer_id="app-7")
    await _apply(rt, east, north, dealers, mine, assigned(east.ticket_id, "eng-1"))
    callers = {
        token("dispatcher", regions=["cn-north"]): [north.ticket_id],
        token("dealer", dealer_id="dl-1"): [dealers.ticket_id],
        token("customer", customer_id="app-7"): [mine.ticket_id],
        token("engineer", engineer_id="eng-1"): [east.ticket_id],
    }
    for caller, expected in callers.items():
        async with served(rt, caller) as http:
            answer = await http.get("/tickets")
            assert answer.status_code == 200, answer.json()
            assert sorted(ids(answer.json())) == sorted(expected)


async def test_unknown_filter_values_and_query_parameters_are_422_naming_them(runtime_of):
    rt = await runtime_of("intake")
    async with served(rt) as http:
        for params, field in [
            ({"status": "bogus"}, "status"),
            ({"region": "mars"}, "region"),
            ({"requested_from": "2030-06-04T09:00:00"}, "requested_from"),
            ({"colour": "red"}, "colour"),
        ]:
            answer = await http.get("/tickets", params=params)
            assert answer.status_code == 422, (params, answer.json())
            body = answer.json()
            assert body["error"] == "validation_failed"
            assert [e["field"] for e in body["errors"]] == [field]
        ticket = await http.get("/tickets/x", params={"as_of": "2030-06-04T09:00:00Z", "x": "1"})
        assert ticket.status_code == 422
        assert [e["field"] for e in ticket.json()["errors"]] == ["x"]
