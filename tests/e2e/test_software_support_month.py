"""A simulated month of the software-support centre through billing and feedback.

Forms, service records and missed appointments are fined from the events that prove
them (PEN-2..5, PEN-7); the amounts are the pack's, computed by hand from RULES.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from repairline_contracts.base import Decision
from repairline_contracts.dispatch import MissedAppointment
from tests.support.pack_source import covering
from tests.support.system import System, eventually

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2030, 6, 3, 8, 0, tzinfo=SH)  # office hours Mon-Fri 09:00-12:00, 13:30-18:00


@pytest.fixture
async def world(prefix: str, tmp_path: Path) -> AsyncIterator[System]:
    # the month runs in 2030, declared a year without public holidays in the test's pack
    pack = covering(tmp_path, "software-support", 2030)
    w = System(prefix, str(pack), ("billing", "feedback"))
    try:
        yield w.start()
    finally:
        w.stop()
        await w.drop()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(SH).replace(second=0, microsecond=0)


async def quote(w: System, ticket: str) -> dict:
    async def attempt():
        status, answer = w.billing.request("POST", f"/tickets/{ticket}/quotes", {})
        return answer if status == 201 else None

    return await eventually(attempt, timeout=60)


async def test_pen_2_pen_3_pen_5_pen_7_fee_7_fbk_3_a_software_support_month(world: System):
    w, billing, feedback = world, world.billing, world.feedback
    w.ok(
        billing,
        "PUT",
        "/outlets/outlet-sw",
        {"name": "Support centre", "region": "cn-east", "engineer_ids": ["eng-s1"]},
    )
    t0 = w.at(MONDAY)
    s1, s2, s3 = [
        await w.request(
            line="erp_suite",
            city_tier="provincial_capital",
            purchase_date=date(2025, 1, 1),
            at=t0,
            name=name,
        )
        for name in ("Acme", "Bolt", "Core")
    ]
    for ticket in (s1, s2, s3):
        await w.assign(ticket, "eng-s1", t0)

    # FEE-4: a software visit is paid (the pack's flat 300 yuan on-site fee); S2 has no quote
    w.at(MONDAY + timedelta(hours=1))
    for ticket in (s1, s3):
        q = await quote(w, ticket)
        assert [(x["code"], x["amount_fen"], x["rule_id"]) for x in q["lines"]] == [
            ("visit", 30000, "FEE-1")
        ]
        w.ok(billing, "POST", f"/tickets/{ticket}/quotes/{q['quote_id']}/acceptance")

    t = w.at(MONDAY + timedelta(hours=2))  # Monday 10:00
    for ticket in (s1, s2, s3):
        await w.arrive(ticket, "eng-s1", t)
        await w.complete(ticket, "eng-s1", t)
    for ticket in (s1, s2, s3):
        await w.poll(billing, f"/tickets/{ticket}/invoice")
    # paperwork on the day: S1 acceptance only; S3 everything but the implementation form
    w.ok(billing, "POST", f"/tickets/{s1}/forms", {"form": "acceptance"})
    w.ok(billing, "POST", f"/tickets/{s1}/service-records", {"activity": "visit"})
    for form in ("implementation_plan", "acceptance", "service_feedback"):
        w.ok(billing, "POST", f"/tickets/{s3}/forms", {"form": form})
    w.ok(billing, "POST", f"/tickets/{s3}/service-records", {"activity": "visit"})
    # PEN-4: a remote service the desk logged on S2, never written into the record
    w.ok(billing, "POST", f"/tickets/{s2}/remote-services", {"engineer_id": "eng-s1"})
    # PEN-6: unreachable twice; the manager fines 30 yuan (range 20-50)
    first = w.ok(billing, "POST", "/engineers/eng-s1/unreachable", {"ticket_id": s1})
    assert first["penalty_id"] is None  # once is not 'repeatedly'
    again = w.ok(
        billing, "POST", "/engineers/eng-s1/unreachable", {"ticket_id": s2, "fine_fen": 3000}
    )
    assert again["penalty_id"].startswith("PEN-6:eng-s1:")

    # PEN-7: two appointments missed without notice, on other tickets
    for n, hour in enumerate((14, 16)):
        start = MONDAY + timedelta(hours=hour - 8)
        await w.emit(
            MissedAppointment(
                ticket_id=f"missed-{n}-{w.prefix}",
                engineer_id="eng-s1",
                appointment_start=start,
                appointment_end=start + timedelta(hours=1),
                detected_at=start + timedelta(hours=1),
                reason="no visit and no reschedule with notice",
                decision=Decision(
                    pack_id="software-support", pack_version="2026.1", rule_ids=("PEN-7",)
                ),
            )
        )

    # -- FBK-2 next working day at 10:00; FBK-3 three unreached attempts exhaust -------
    w.at(MONDAY + timedelta(days=1, hours=2, minutes=5))  # Tuesday 10:05
    due = await w.poll(feedback, "/callbacks?status=due", lambda b: len(b) == 3)
    assert {at(c["due_at"]) for c in due} == {datetime(2030, 6, 4, 10, 0, tzinfo=SH)}
    cb = {c["ticket_id"]: c["callback_id"] for c in due}
    for ticket in (s1, s2):
        w.ok(
            feedback,
            "POST",
            f"/callbacks/{cb[ticket]}/attempts",
            {"reached": True, "grade": "satisfied"},
        )
    first = w.ok(feedback, "POST", f"/callbacks/{cb[s3]}/attempts", {"reached": False})
    # 10:05 + 2 working hours: 1 h 55 min to 12:00, then 5 min after 13:30
    assert at(first["retry_at"]) == datetime(2030, 6, 4, 13, 35, tzinfo=SH)
    w.at(at(first["retry_at"]) + timedelta(minutes=1))
    await w.poll(feedback, f"/callbacks?status=due&ticket_id={s3}", lambda b: len(b) == 1)
    second = w.ok(feedback, "POST", f"/callbacks/{cb[s3]}/attempts", {"reached": False})
    w.at(at(second["retry_at"]) + timedelta(minutes=1))
    await w.poll(feedback, f"/callbacks?status=due&ticket_id={s3}", lambda b: len(b) == 1)
    third = w.ok(feedback, "POST", f"/callbacks/{cb[s3]}/attempts", {"reached": False})
    assert third["status"] == "exhausted"  # FBK-3: 3 attempts in this pack
    status, refused = feedback.request("POST", f"/callbacks/{cb[s3]}/attempts", {"reached": False})
    assert status == 409 and refused["current_state"] == "exhausted"

    # -- FBK-6 answered in time; PEN-1 ---------------------------------------------------
    c = w.ok(
        feedback,
        "POST",
        "/complaints",
        {
            "ticket_id": s1,
            "channel": "email",
            "kind": "attitude",
            "engineer_id": "eng-s1",
            "description": "rude on the phone",
        },
    )
    assert at(c["answer_by"]) == datetime(2030, 6, 7, 18, 0, tzinfo=SH)  # Friday, closing
    w.at(MONDAY + timedelta(days=2, hours=2))  # Wednesday 10:00
    answered = w.ok(
        feedback,
        "POST",
        f"/complaints/{c['complaint_id']}/answer",
        {"answer": "apologised; engineer retrained"},
    )
    assert answered["within_deadline"] is True
    w.ok(
        feedback,
        "POST",
        f"/complaints/{c['complaint_id']}/verification",
        {"verified": True, "finding": "recorded call confirms it"},
    )
    await w.poll(billing, f"/penalties/PEN-1:{c['complaint_id']}")

    # -- the penalty clocks run out: PEN-2 by the day after, PEN-3, PEN-5 in 3 days ------
    for day in range(3, 8):
        w.at(MONDAY + timedelta(days=day))
    penalties = await w.poll(billing, "/engineers/eng-s1/ledger", lambda b: len(b["entries"]) == 10)
    got = sorted(
        (e["rule_ids"][0], e["ticket_id"], e["fine_fen"], e["sanction"])
        for e in penalties["entries"]
    )
    missed = sorted(e["ticket_id"] for e in penalties["entries"] if "PEN-7" in e["rule_ids"])
    assert got == sorted(
        [
            ("PEN-1", s1, 20000, "fine"),
            ("PEN-2", s1, 3000, "fine"),  # service_feedback form missing
            ("PEN-2", s2, 6000, "fine"),  # acceptance and service_feedback missing
            ("PEN-2", s3, 3000, "fine"),  # the implementation form missing
            ("PEN-3", s2, 3000, "fine"),  # the visit never written into the service record
            ("PEN-5", s3, 50000, "fine"),  # implementation form not collected in 3 days
            ("PEN-4", s2, 5000, "fine"),  # the remote service never recorded
            ("PEN-6", s2, 3000, "fine"),  # repeatedly unreachable
            *[("PEN-7", t, 0, "warning") for t in missed],
        ]
    )
    pen7 = sorted(
        (e for e in penalties["entries"] if "PEN-7" in e["rule_ids"]), key=lambda e: e["offence_at"]
    )
    assert pen7[1]["reason"].startswith("repeat offence")
    assert all(e["payee"] == "after_sales_fund" for e in penalties["entries"])
    proofs = {e["rule_ids"][0]: e["evidence"][0]["event_type"] for e in penalties["entries"]}
    assert proofs == {
        "PEN-1": "repairline.feedback.ComplaintVerified",
        "PEN-2": "repairline.dispatch.RepairCompleted",
        "PEN-3": "repairline.dispatch.ArrivedOnSite",
        "PEN-5": "repairline.dispatch.RepairCompleted",
        "PEN-4": "repairline.billing.RemoteServiceReported",
        "PEN-6": "repairline.billing.StaffUnreachableRecorded",
        "PEN-7": "repairline.dispatch.MissedAppointment",
    }

    # -- FEE-7: a trip Monday 14:00 to Wednesday 11:00: 2 trip days, hotel capped ---------
    trip = w.ok(
        billing,
        "POST",
        "/engineers/eng-s1/trips",
        {
            "ticket_id": s2,
            "departed_at": "2030-06-10T14:00:00+08:00",
            "returned_at": "2030-06-12T11:00:00+08:00",
            "hotel_fen_per_night": [15000, 10000],
        },
    )
    assert (trip["trip_days"], trip["meals_fen"], trip["hotel_fen"], trip["total_fen"]) == (
        "2",
        6000,
        22000,
        28000,
    )

    # -- FEE-6 at month end; coverage; replay ---------------------------------------------
    coverage = w.ok(feedback, "GET", "/reports/callback-coverage?from=2030-06-01&to=2030-06-30")
    assert (coverage["served"], coverage["reached"], coverage["percent"]) == (3, 2, "66.66")
    w.at(datetime(2030, 7, 1, 9, 0, tzinfo=SH))
    statement = w.ok(billing, "POST", "/outlets/outlet-sw/settlements", {"period": "2030-06"})
    # fees 3 x 300 yuan; fines 30 + 60 + 30 (PEN-2) + 30 (PEN-3) + 50 (PEN-4) + 500 (PEN-5)
    # + 30 (PEN-6) + 200 (PEN-1) yuan; PEN-7 warnings are 0
    assert (statement["fees_fen"], statement["fines_fen"], statement["net_fen"]) == (
        90000,
        93000,
        -3000,
    )
    assert statement["pay_by"] == "2030-08-30"  # 60 days after the voucher of 1 July
    await w.replay_equals_live(
        {
            "billing": ["charges", "quotes", "penalties", "settlements", "trips"],
            "feedback": ["callbacks", "served", "complaints"],
        }
    )
