"""What the console's desks ask dispatch besides the board, through dispatch's real HTTP
app on the real PostgreSQL: the dispatcher releases a job to his queue (DSP-1), the agent
reads the next free windows (DSP-1/DSP-2, the pack's hours and holidays), the manager the
on-time visits and SLA breaches per region and week; each within the caller's regions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from repairline_dispatch import commands
from repairline_dispatch.domain import visit
from repairline_dispatch.main import ctx
from repairline_dispatch.schemas import EngineerIn
from repairline_platform.auth import Principal, bound_principal
from repairline_platform.clock import SystemClock
from repairline_platform.runtime import Runtime
from tests.integration.dispatch.test_access_scope import _board
from tests.integration.dispatch.test_engineer_locks import _react
from tests.integration.platform.dispatch import database_of, dispatch_runtime
from tests.support.auth import token
from tests.support.factories import repair_requested
from tests.support.infra import drop_database
from tests.support.served import served

ZONE = ZoneInfo("Asia/Shanghai")
# a Thursday before the Dragon Boat holidays of the water-heater pack (19-21 June 2026)
NOW = datetime(2026, 6, 18, 0, 0, tzinfo=ZONE)
DISPATCHER = token("dispatcher", regions=["cn-east"])


@pytest.fixture
async def dispatch(prefix: str) -> AsyncIterator[Runtime]:
    rt = dispatch_runtime(prefix)
    await rt.open_storage()
    offset = NOW - SystemClock().now()
    await rt.pool.execute(
        "insert into clock_state (id, offset_us) values (1, $1)"
        " on conflict (id) do update set offset_us = excluded.offset_us",
        offset // timedelta(microseconds=1),
    )
    await rt.pool.close()
    await rt.open_storage()  # the clock now shows NOW
    try:
        yield rt
    finally:
        await rt.pool.close()
        await drop_database(database_of(prefix))


async def _move(rt: Runtime, *, hours: int) -> None:
    """The simulated clock `hours` later (the runtime reads it when it opens)."""
    await rt.pool.execute(
        "update clock_state set offset_us = offset_us + $1", hours * 3600 * 1_000_000
    )
    await rt.pool.close()
    await rt.open_storage()


async def _engineer(rt: Runtime, engineer_id: str, capacity: int | None = None) -> None:
    body = EngineerIn(
        name=engineer_id, region="cn-east", skills=["instant_water_heater"], capacity=capacity
    )
    await commands.change_engineer(body.command(engineer_id), ctx(rt))


async def _assigned_job(rt: Runtime) -> str:
    await _engineer(rt, "eng-desk-1")
    requested = repair_requested()
    await _react(rt, requested)
    await _board(rt)
    return requested.ticket_id


async def test_dsp_1_the_dispatcher_releases_a_job_to_his_queue_with_his_reason(dispatch):
    ticket_id = await _assigned_job(dispatch)
    async with served(dispatch, DISPATCHER) as http:
        answer = await http.post(
            f"/tickets/{ticket_id}/release", json={"reason": "customer wants a senior engineer"}
        )
        assert answer.status_code == 200, answer.json()
        assert answer.json()["events"] == ["EngineerReleased", "AssignmentWaiting"]
        await _board(dispatch)
        job = (await http.get(f"/tickets/{ticket_id}")).json()
        assert job["state"] == "waiting_for_engineer"
        assert job["engineer_id"] is None
        assert "customer wants a senior engineer" in job["waiting_reason"]
        # the dispatcher's own release, not a job nobody can take
        kinds = [
            a["kind"] for a in (await http.get("/alerts", params={"ticket_id": ticket_id})).json()
        ]
        assert "released" in kinds and "unassignable" not in kinds
        again = await http.post(f"/tickets/{ticket_id}/release", json={"reason": "again"})
        assert again.status_code == 409, again.json()
        assert again.json()["current_state"] == "waiting_for_engineer"
        blank = await http.post(f"/tickets/{ticket_id}/release", json={})
        assert blank.status_code == 422
        assert [e["field"] for e in blank.json()["errors"]] == ["reason"]


async def test_only_a_dispatcher_of_the_jobs_region_releases_it(dispatch):
    ticket_id = await _assigned_job(dispatch)
    callers = [
        (token("agent", regions=["cn-east"]), 403),
        (token("dispatcher", regions=["cn-north"]), 404),
    ]
    for caller, status in callers:
        async with served(dispatch, caller) as http:
            answer = await http.post(f"/tickets/{ticket_id}/release", json={"reason": "x"})
            assert answer.status_code == status, answer.json()


def starts(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.json()
    return [
        datetime.fromisoformat(w["start"]).astimezone(ZONE).strftime("%m-%d %H:%M")
        for w in answer.json()["windows"]
    ]


async def test_dsp_2_the_next_free_windows_follow_the_packs_hours_and_holidays(dispatch):
    await _engineer(dispatch, "eng-free")
    await _engineer(dispatch, "eng-full", capacity=0)  # at capacity: offers nothing
    query = {"region": "cn-east", "product_line": "instant_water_heater", "limit": 8}
    async with served(dispatch, token("agent", regions=["cn-east"])) as http:
        answer = await http.get("/windows", params=query)
        assert starts(answer) == [
            "06-18 08:30",
            "06-18 09:30",
            "06-18 10:30",
            "06-18 13:30",
            "06-18 14:30",
            "06-18 15:30",
            "06-18 16:30",
            "06-22 08:30",  # 19-21 June are holidays
        ]
        assert {w["engineers"] for w in answer.json()["windows"]} == {1}
        later = await http.get("/windows", params={**query, "from": "2026-06-22", "limit": 1})
        assert starts(later) == ["06-22 08:30"]
        kitchen = {**query, "product_line": "small_kitchen_heater"}
        assert starts(await http.get("/windows", params=kitchen)) == []


async def test_a_window_booked_with_the_only_engineer_is_not_offered_again(dispatch):
    ticket_id = await _assigned_job(dispatch)
    window = (NOW.replace(hour=8, minute=30), NOW.replace(hour=9, minute=30))
    await commands.book_visit(visit.BookVisit(ticket_id, window), ctx(dispatch))
    query = {"region": "cn-east", "product_line": "instant_water_heater", "limit": 2}
    async with served(dispatch, token("agent", regions=["cn-east"])) as http:
        assert starts(await http.get("/windows", params=query)) == ["06-18 09:30", "06-18 10:30"]


async def test_windows_are_asked_within_the_callers_regions_and_bounds(dispatch):
    async with served(dispatch, token("agent", regions=["cn-north"])) as http:
        for params, field in [
            ({"region": "cn-east", "product_line": "instant_water_heater"}, "region"),
            ({"region": "cn-north", "product_line": "instant_water_heater", "days": 30}, "days"),
            ({"region": "cn-north"}, "product_line"),
        ]:
            answer = await http.get("/windows", params=params)
            assert answer.status_code == 422, answer.json()
            assert [e["field"] for e in answer.json()["errors"]] == [field]
    async with served(dispatch, token("engineer", regions=["cn-east"])) as http:
        query = {"region": "cn-east", "product_line": "instant_water_heater"}
        assert (await http.get("/windows", params=query)).status_code == 403


async def test_visits_on_time_and_late_are_counted_per_region_and_week(dispatch):
    early = await _assigned_job(dispatch)
    late = repair_requested()
    await _react(dispatch, late)
    for ticket_id, (start, end) in [(early, (8, 9)), (late.ticket_id, (9, 10))]:
        window = (NOW.replace(hour=start, minute=30), NOW.replace(hour=end, minute=30))
        await commands.book_visit(visit.BookVisit(ticket_id, window), ctx(dispatch))
    p = Principal("eng-desk-1", frozenset({"engineer"}), frozenset({"cn-east"}), "eng-desk-1")
    with bound_principal(p.acting(frozenset({"engineer"}))):
        await _move(dispatch, hours=9)
        await commands.arrive(visit.Arrive(early), ctx(dispatch))  # 09:00: on time
        await _move(dispatch, hours=2)
        await commands.arrive(visit.Arrive(late.ticket_id), ctx(dispatch))  # 11:00: late
    await _board(dispatch)
    query = {"from": "2026-06-15", "to": "2026-06-21"}
    async with served(dispatch, token("analyst")) as http:
        answer = await http.get("/reports/visits", params=query)
        assert answer.status_code == 200, answer.json()
        [week] = answer.json()["weeks"]
        assert (week["region"], week["week"]) == ("cn-east", "2026-06-15")
        assert (week["visits"], week["on_time"]) == (2, 1)
        before = await http.get(
            "/reports/visits", params={"from": "2026-06-08", "to": "2026-06-14"}
        )
        assert before.json()["weeks"] == []
        for params, field in [
            ({"from": "2026-06-21", "to": "2026-06-15"}, "to"),
            ({"from": "2026-01-01", "to": "2027-06-01"}, "to"),
            ({"to": "2026-06-21"}, "from"),
        ]:
            refused = await http.get("/reports/visits", params=params)
            assert refused.status_code == 422, refused.json()
            assert [e["field"] for e in refused.json()["errors"]] == [field]
    async with served(dispatch, token("analyst", regions=["cn-north"])) as http:
        assert (await http.get("/reports/visits", params=query)).json()["weeks"] == []


async def test_the_staff_read_the_services_clock_only_the_admin_moves_it(dispatch):
    async with served(dispatch, DISPATCHER) as http:
        clock = await http.get("/admin/clock")
        assert clock.status_code == 200, clock.json()
        assert datetime.fromisoformat(clock.json()["now"]) >= NOW
        moved = await http.post("/admin/clock/advance", json={"hours": 1})
        assert moved.status_code == 403, moved.json()
    async with served(dispatch, token("customer", customer_id="app-1")) as http:
        assert (await http.get("/admin/clock")).status_code == 403
