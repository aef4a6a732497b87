"""Roster events, DSP-2 lead days, DSP-3 pauses across a night, DSP-5 escalation and
DSP-8 unreachable customers, on the office-equipment pack and the simulated clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.support.system import System, eventually, utc

BUSINESS = {
    "channel": "front_desk",
    "customer": {"organisation": "City Hall", "role": "facilities", "business_critical": False},
}
SIGNED = {"signed_by": "Li Wei", "repair_record": {"fault_found": "worn part"}}


@pytest.fixture
async def day(prefix: str) -> AsyncIterator[System]:
    system = System(prefix, "office-equipment", ("intake", "dispatch"), timer_poll_seconds=0.05)
    yield system.start().begin_business_day()
    system.stop()
    await system.drop()


async def test_roster_dsp_2_dsp_3_dsp_5_dsp_8_office_equipment(day: System):
    # the roster: every change an event on its own stream, the roster log its projection
    status, _ = day.dispatch.request(
        "PUT",
        "/service-points/sp-hz",
        {"name": "Hangzhou outlet", "region": "cn-east", "city_tier": "provincial_capital"},
    )
    assert status == 200
    day.engineer("eng-1", ["copier"], 1)
    day.engineer("eng-9", ["copier"], 9)
    day.engineer("eng-9", ["copier"], 9, active=False)

    async def roster() -> Any:
        _, log = day.dispatch.request("GET", "/roster-log")
        return log if len(log) == 4 else None

    log = await eventually(roster, timeout=30, interval=0.05)
    assert [(e["subject"], e["type"], e["data"]["change"]) for e in log] == [
        ("service-point:sp-hz", "ServicePointChanged", "registered"),
        ("engineer:eng-1", "EngineerRosterChanged", "registered"),
        ("engineer:eng-9", "EngineerRosterChanged", "registered"),
        ("engineer:eng-9", "EngineerRosterChanged", "deactivated"),
    ]
    assert all("name" not in e["data"] for e in log if e["subject"].startswith("engineer:"))

    def ticket(**over: Any) -> str:
        return day.create(day.body("copier", **BUSINESS, **over))["ticket_id"]

    day.at("08:00")
    # DSP-5: eng-1 never fixed a copier: escalated when the visit is booked (here with the
    # assignment, in the customer's window); once he has fixed one, not again
    first = ticket(preferred_window=day.window("09:00", "10:00", days=1))
    board = await day.board(first, lambda b: b["state"] == "assigned" and b["escalations"])
    assert board["escalations"][0]["trigger"] == "no_prior_repair"
    assert board["escalations"][0]["decision"]["rule_ids"] == ["DSP-5"]
    day.cmd(f"/tickets/{first}/arrival")
    day.cmd(f"/tickets/{first}/completion", {"resolution": "fixed", **SIGNED})
    familiar = ticket()
    board = await day.board(familiar, lambda b: b["state"] == "assigned")
    assert board["escalations"] == [] and board["engineer_id"] == "eng-1"
    manual = day.cmd(f"/tickets/{familiar}/escalation", {"reason": "odd noise, never seen"})
    assert manual["events"] == ["EscalatedToTechnicalSupport"]
    board = await day.board(familiar, lambda b: b["escalations"])
    assert board["escalations"][0]["trigger"] == "manual"

    # DSP-2: appointments are made at least one day ahead in this pack
    early = day.cmd(f"/tickets/{familiar}/appointment", day.slot("14:00", "15:00"), expect=422)
    assert early["rule_id"] == "DSP-2" and early["field"] == "start"
    assert "appointment_min_lead_days" in early["reason"]
    booked = day.cmd(f"/tickets/{familiar}/appointment", day.slot("09:00", "10:00", days=1))
    assert booked["events"] == ["AppointmentScheduled"]  # he has fixed a copier by now

    # DSP-8: unreachable now: try again later, the standard SMS; the clock is held
    day.at("08:30")
    tried = day.cmd(
        f"/tickets/{familiar}/customer-unreachable",
        {"attempt_at": day.local("08:25").isoformat(), "channel": "mobile"},
    )
    assert tried["events"] == ["CustomerUnreachable", "StandardSmsSent"]
    day.at("09:30")
    reached = day.cmd(f"/tickets/{familiar}/customer-reached", {"channel": "mobile"})
    assert reached["events"] == ["CustomerReached", "SlaDeadlinesRecomputed"]

    # DSP-3: parts backordered in the morning, arriving the next day: the deadlines move
    parts = ticket()
    await day.board(parts, lambda b: b["state"] == "assigned")
    requested_at = utc((await day.view(parts))["requested_at"])
    day.at("09:40")
    day.cmd(f"/tickets/{parts}/parts", {"part": "fuser", "status": "backordered"})

    # next morning: waiting any longer would make the engineer late: go anyway
    day.at("08:45", days=1)
    gone = day.cmd(
        f"/tickets/{familiar}/customer-unreachable",
        {"attempt_at": day.local("08:44", days=1).isoformat(), "channel": "mobile"},
    )
    assert gone["events"] == ["CustomerUnreachable", "GoingToAddressAnyway"]
    report = await day.alert(familiar, "going_anyway")
    assert report["detail"]["reported_to"] == "coordinator"
    kept = await day.board(familiar)
    assert utc(kept["appointment_start"]) == utc(day.local("09:00", days=1).isoformat())
    assert kept["reschedules"] == 0  # the visit is kept as promised

    day.at("10:00", days=1)  # past the first on-site deadline (24 h): held, no breach
    arrived = day.cmd(f"/tickets/{parts}/parts", {"part": "fuser", "status": "arrived"})
    assert arrived["events"] == ["PartsArrived", "SlaDeadlinesRecomputed"]
    board = await day.board(parts, lambda b: b["sla"] is not None)
    held = utc(day.local("10:00", days=1).isoformat()) - utc(day.local("09:40").isoformat())
    moved = utc(board["sla"]["visit_by"]) - (requested_at + timedelta(hours=24) + held)
    assert abs(moved) < timedelta(seconds=1)  # the clocks of the two services
    assert board["sla"]["version"] == 1
    assert "sla_breached" not in {a["kind"] for a in board["alerts"]}

    day.advance(utc(board["sla"]["visit_by"]) - day.now() + timedelta(minutes=5))
    breach = await day.alert(parts, "sla_breached")
    assert utc(breach["detail"]["due_at"]) == utc(board["sla"]["visit_by"])
    _, breaches = day.dispatch.request("GET", "/alerts?kind=sla_breached&limit=5000")
    assert [a["detail"]["deadline"] for a in breaches if a["ticket_id"] == parts] == ["visit"]

    # intake's view reads past the roster events; replay equals live, roster log included
    view = await day.view(first, lambda b: b["status"] == "repair_completed")
    assert view["engineer_id"] == "eng-1"
    counts = await day.replay_equals_live()
    assert counts["roster_log"] == 4
