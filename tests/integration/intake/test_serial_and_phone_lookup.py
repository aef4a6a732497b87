"""The agent looks a unit up by its serial number (WAR-3: the maker's sale and the warranty
it gives today) and finds tickets by the customer's phone or the serial number, through
intake's real HTTP app on the real PostgreSQL; each caller sees only what he may read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from repairline_contracts.intake import Customer, SaleRecorded
from repairline_intake.projections import SalesRecords, TicketView
from repairline_intake.views import dialled
from repairline_platform.clock import SystemClock
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from tests.support.auth import token
from tests.support.factories import repair_requested
from tests.support.served import served
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)  # 09:00 on 4 June 2030 in Shanghai


async def _at(rt: Runtime, moment: datetime) -> None:
    """The service's simulated clock shows `moment` (the app reads it when it starts)."""
    offset = moment - SystemClock().now()
    await rt.pool.execute(
        "insert into clock_state (id, offset_us) values (1, $1)"
        " on conflict (id) do update set offset_us = excluded.offset_us",
        offset // timedelta(microseconds=1),
    )


def sold(serial_no: str, line: str, on: date) -> SaleRecorded:
    return SaleRecorded(
        ticket_id=f"sales-record:{serial_no}",
        serial_no=serial_no,
        product_line=line,
        model="WH-30",
        sold_on=on,
        recorded_at=NOW,
    )


async def _apply(rt: Runtime, projection: Any, *events: Any) -> None:
    async with rt.unit_of_work() as uow:
        await projection.handle(uow, delivered(list(events), at=NOW, pack=PACK))


async def test_a_serial_number_answers_its_sale_and_the_warranty_it_gives_today_war_3(
    runtime_of,
):
    rt = await runtime_of("intake")
    await _at(rt, NOW)
    await _apply(
        rt,
        SalesRecords(),
        sold("SN-RECENT", "instant_water_heater", date(2029, 12, 10)),
        sold("SN-OLD", "instant_water_heater", date(2028, 3, 10)),
    )
    async with served(rt, token("agent", regions=["cn-east"])) as http:
        recent = await http.get("/sales-records/SN-RECENT")
        assert recent.status_code == 200, recent.json()
        body = recent.json()
        assert (body["product_line"], body["model"], body["sold_on"]) == (
            "instant_water_heater",
            "WH-30",
            "2029-12-10",
        )
        # WAR-1/WAR-5: 12 months from the sale date, ending the day before
        assert body["warranty"]["until"] == "2030-12-09"
        assert body["warranty"]["in_warranty"] is True
        assert body["warranty"]["decided_on"] == "2030-06-04"
        assert {"WAR-1", "WAR-3"} <= set(body["warranty"]["rule_ids"])
        old = (await http.get("/sales-records/SN-OLD")).json()
        assert old["warranty"]["in_warranty"] is False
        assert old["warranty"]["until"] == "2029-03-09"
        missing = await http.get("/sales-records/SN-NOBODY")
        assert missing.status_code == 404
        assert "SN-NOBODY" in missing.json()["detail"]


async def test_only_the_agent_and_the_dealer_look_sales_records_up(runtime_of):
    rt = await runtime_of("intake")
    await _apply(rt, SalesRecords(), sold("SN-1", "instant_water_heater", date(2029, 12, 10)))
    for role, status in [("dealer", 200), ("dispatcher", 403), ("engineer", 403)]:
        async with served(rt, token(role, regions=["cn-east"])) as http:
            answer = await http.get("/sales-records/SN-1")
            assert answer.status_code == status, (role, answer.json())


def phoned(mobile: str, *, region: str = "cn-east", serial: str | None = None) -> Any:
    event = repair_requested(region=region)
    product = event.product.model_copy(update={"serial_no": serial or event.product.serial_no})
    customer = Customer(name="Wang Fang", mobile=mobile, address="2 Test Road")
    return event.model_copy(update={"customer": customer, "product": product})


def ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.json()
    return [t["ticket_id"] for t in answer.json()["tickets"]]


async def test_tickets_are_found_by_the_customers_phone_in_any_spelling(runtime_of):
    rt = await runtime_of("intake")
    mine = phoned("+86 139-1234 5678")
    other = phoned("13900000000")
    north = phoned("13912345678", region="cn-north")
    await _apply(rt, TicketView(), mine, other, north)
    async with served(rt, token("agent", regions=["cn-east"])) as http:
        for spelling in ("13912345678", "139 1234 5678", "+8613912345678", "0086 139-1234-5678"):
            found = await http.get("/tickets", params={"phone": spelling})
            assert ids(found) == [mine.ticket_id], spelling  # cn-north is not the agent's
            assert "mobile" not in found.json()["tickets"][0]  # the list shows no phone
        assert ids(await http.get("/tickets", params={"phone": "13800000000"})) == []


async def test_tickets_are_found_by_serial_number_within_the_callers_regions(runtime_of):
    rt = await runtime_of("intake")
    east = phoned("13900000001", serial="SN-SHARED")
    north = phoned("13900000002", region="cn-north", serial="SN-SHARED")
    other = phoned("13900000003", serial="SN-OTHER")
    await _apply(rt, TicketView(), east, north, other)
    async with served(rt, token("agent", regions=["cn-east"])) as http:
        assert ids(await http.get("/tickets", params={"serial": "SN-SHARED"})) == [east.ticket_id]
    async with served(rt, token("dispatcher", regions=["cn-north"])) as http:
        assert ids(await http.get("/tickets", params={"serial": "SN-SHARED"})) == [north.ticket_id]


async def test_a_phone_that_is_not_a_phone_is_a_422_naming_the_field(runtime_of):
    rt = await runtime_of("intake")
    async with served(rt, token("agent", regions=["cn-east"])) as http:
        for bad in ("139", "call me", "1" * 41, "( - ) - ( )", "+1 2 3"):
            answer = await http.get("/tickets", params={"phone": bad})
            assert answer.status_code == 422, answer.json()
            assert [e["field"] for e in answer.json()["errors"]] == ["phone"]


def test_a_phone_is_compared_in_its_dialled_form():
    assert dialled("+86 139-1234 5678") == "13912345678"
    assert dialled("0086 13912345678") == "13912345678"
    assert dialled("(0571) 8888 1234") == "057188881234"
