"""A simulated month of the water-heater network through billing and feedback.

Dispatch's and intake's facts are produced onto their topics; billing and feedback run
as processes on the real Kafka and PostgreSQL, their clocks moved together. Every
expected amount is computed by hand from RULES.md and the water-heater pack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.pack_source import covering
from tests.support.system import System, connect, eventually

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2030, 6, 3, 8, 0, tzinfo=SH)  # a Monday; the pack works every day


@pytest.fixture
async def world(prefix: str, tmp_path: Path) -> AsyncIterator[System]:
    # the month runs in 2030, declared a year without public holidays in the test's pack
    pack = covering(tmp_path, "water-heater", 2030)
    w = System(prefix, str(pack), ("billing", "feedback"))
    try:
        yield w.start()
    finally:
        w.stop()
        await w.drop()


async def quote(w: System, ticket: str, body: dict) -> dict:
    """FEE-4: the engineer's quote, once billing has seen the request."""

    async def attempt():
        status, answer = w.billing.request("POST", f"/tickets/{ticket}/quotes", body)
        return answer if status == 201 else None

    return await eventually(attempt, timeout=60)


def at(text: str) -> datetime:
    """A time from the API in Shanghai, to the minute (the clocks also run in real time)."""
    return datetime.fromisoformat(text).astimezone(SH).replace(second=0, microsecond=0)


def lines(doc: dict) -> list[tuple[str, int, str]]:
    return [(line["code"], line["amount_fen"], line["rule_id"]) for line in doc["lines"]]


async def test_fee_1_to_fee_6_pen_1_fbk_2_to_fbk_7_a_water_heater_month(world: System):
    w, billing, feedback = world, world.billing, world.feedback
    w.ok(
        billing,
        "PUT",
        "/outlets/outlet-hz",
        {"name": "Hangzhou outlet", "region": "cn-east", "engineer_ids": ["eng-w1"]},
    )
    t0 = w.at(MONDAY)

    # T1 out of warranty (bought 2027-01-10), provincial capital, 42 km, 6 m of wiring
    t1 = await w.request(
        line="instant_water_heater",
        city_tier="provincial_capital",
        purchase_date=date(2027, 1, 10),
        at=t0,
        name="Li",
    )
    # T2 in warranty (bought 2029-09-01), municipality
    t2 = await w.request(
        line="instant_water_heater",
        city_tier="municipality",
        purchase_date=date(2029, 9, 1),
        at=t0,
        name="Wang",
    )
    # T3 small kitchen heater, unit out (2028-01-01) but its heating element covered 36 months
    t3 = await w.request(
        line="small_kitchen_heater",
        city_tier="prefecture_city",
        purchase_date=date(2028, 1, 1),
        at=t0,
        name="Zhao",
    )
    # T4 out of warranty, county city, done by an engineer of another outlet (service point)
    t4 = await w.request(
        line="instant_water_heater",
        city_tier="county_city",
        purchase_date=date(2027, 5, 5),
        serial_no=f"SN-T4-{w.prefix}",
        at=t0,
        name="Sun",
    )
    for t in (t1, t2, t3):
        await w.assign(t, "eng-w1", t0)
    await w.assign(t4, "eng-w2", t0, service_point="outlet-nb")

    # -- FEE-4 quotes: stated, then accepted or refused ----------------------------------
    t = w.at(MONDAY + timedelta(hours=1))
    q1 = await quote(
        w,
        t1,
        {
            "engineer_id": "eng-w1",
            "parts": [{"code": "thermostat"}],
            "distance_km": "42",
            "agreed_travel_fee_fen": 2000,
            "extra_wiring_m": 6,
        },
    )
    # FEE-1 30 yuan + thermostat 45 (price list) + FEE-2 agreed 20 (cap 50) + FEE-3 6 m x 5
    assert lines(q1) == [
        ("visit", 3000, "FEE-1"),
        ("part:thermostat", 4500, "FEE-1"),
        ("travel", 2000, "FEE-2"),
        ("wiring", 3000, "FEE-3"),
    ]
    assert q1["total_fen"] == 12500 == sum(amount for _, amount, _ in lines(q1))
    assert "FEE-4" in q1["decision"]["rule_ids"]
    w.ok(billing, "POST", f"/tickets/{t1}/quotes/{q1['quote_id']}/acceptance")

    q2 = await quote(w, t2, {"parts": [{"code": "heating_element"}]})
    assert lines(q2) == [
        ("visit", 0, "WAR-1"),
        ("part:heating_element", 0, "WAR-1"),
        ("travel", 0, "FEE-2"),  # within 30 km
    ]
    assert q2["lines"][0]["reason"] == "in warranty"

    q3 = await quote(w, t3, {"parts": [{"code": "heating_element"}], "distance_km": "35"})
    # FEE-1 15 yuan; the element is free under its 36 months (WAR-1); travel quoted at the cap
    assert lines(q3) == [
        ("visit", 1500, "FEE-1"),
        ("part:heating_element", 0, "WAR-1"),
        ("travel", 5000, "FEE-2"),
    ]
    assert q3["needs_customer_agreement"] is True
    w.ok(
        billing,
        "POST",
        f"/tickets/{t3}/quotes/{q3['quote_id']}/refusal",
        {"reason": "too expensive"},
    )
    status, again = billing.request("POST", f"/tickets/{t3}/quotes/{q3['quote_id']}/acceptance")
    assert status == 409 and again["current_state"] == "quote_refused"

    # -- completion: invoices match the quote or say why not ------------------------------
    t = w.at(MONDAY + timedelta(hours=3))
    for ticket, engineer in ((t1, "eng-w1"), (t2, "eng-w1"), (t4, "eng-w2")):
        await w.arrive(ticket, engineer, t)
        await w.complete(ticket, engineer, t)
    inv1 = await w.poll(billing, f"/tickets/{t1}/invoice")
    assert lines(inv1) == lines(q1) and inv1["total_fen"] == 12500
    assert inv1["matches_quote"] is True and inv1["quote_id"] == q1["quote_id"]
    assert inv1["outlet_id"] == "outlet-hz"  # from the roster
    inv2 = await w.poll(billing, f"/tickets/{t2}/invoice")
    assert inv2["total_fen"] == 0 and all(line["reason"] for line in inv2["lines"])
    inv4 = await w.poll(billing, f"/tickets/{t4}/invoice")
    assert inv4["total_fen"] == 2200 and inv4["outlet_id"] == "outlet-nb"  # FEE-1 county city
    assert inv4["quote_note"] == "no accepted quote on file: charged by the tariff"
    for inv in (inv1, inv2, inv4):
        assert inv["total_fen"] == sum(line["amount_fen"] for line in inv["lines"])

    # -- FBK-2: the next morning's list; FBK-3 retry; FBK-5 dissatisfied -----------------
    t = w.at(MONDAY + timedelta(days=1, hours=1))  # Tuesday 09:00, callbacks due at 08:30
    due = await w.poll(feedback, "/callbacks?status=due", lambda b: len(b) == 3)
    assert {c["ticket_id"] for c in due} == {t1, t2, t4}
    assert {at(c["due_at"]) for c in due} == {datetime(2030, 6, 4, 8, 30, tzinfo=SH)}
    morning = w.ok(feedback, "GET", "/callbacks/morning-list?on=2030-06-04")
    assert {c["ticket_id"] for c in morning["to_call"]} == {t1, t2, t4}
    assert morning["coverage"] == {
        "served_last_week": 3,
        "reached": 0,
        "percent": "0.00",
        "target_percent": 100,
    }

    cb = {c["ticket_id"]: c["callback_id"] for c in due}
    w.ok(
        feedback,
        "POST",
        f"/callbacks/{cb[t1]}/attempts",
        {
            "reached": True,
            "grade": "satisfied",
            "answers": {"on_time": True, "charged_by_tariff": True},
        },
    )
    w.ok(feedback, "POST", f"/callbacks/{cb[t4]}/attempts", {"reached": True, "grade": "average"})
    unreached = w.ok(feedback, "POST", f"/callbacks/{cb[t2]}/attempts", {"reached": False})
    assert unreached["status"] == "retry_pending"
    assert at(unreached["retry_at"]) == datetime(2030, 6, 4, 11, 0, tzinfo=SH)  # 2 working h
    w.at(MONDAY + timedelta(days=1, hours=3, minutes=1))
    await w.poll(feedback, f"/callbacks?status=due&ticket_id={t2}", lambda b: len(b) == 1)
    sad = w.ok(
        feedback,
        "POST",
        f"/callbacks/{cb[t2]}/attempts",
        {"reached": True, "grade": "dissatisfied", "reason": "still no hot water"},
    )
    types = [e["type"].rsplit(".", 1)[1] for e in sad["events"]]
    assert types == [
        "CallbackCompleted",
        "RevisitRequested",
        "CallbackScheduled",
        "CallbackScheduled",
    ]
    # FBK-5: one follow-up within a week, one within a month
    follow_ups = sorted(
        datetime.fromisoformat(e["data"]["due_at"]).astimezone(SH).date().isoformat()
        for e in sad["events"][2:]
    )
    assert follow_ups == ["2030-06-11", "2030-07-04"]
    cases = w.ok(feedback, "GET", f"/cases?ticket_id={t2}")
    assert len(cases) == 1 and cases[0]["engineer_id"] == "eng-w1"

    # -- FBK-6 complaints; FEE-5 overcharge; PEN-1 with its escalations -----------------
    t = w.at(MONDAY + timedelta(days=1, hours=4))  # Tuesday 12:00
    over = w.ok(
        feedback,
        "POST",
        "/complaints",
        {
            "ticket_id": t4,
            "channel": "hotline",
            "kind": "overcharge",
            "description": "charged 80 yuan",
            "amount_paid_fen": 8000,
        },
    )
    assert over["triggers"] == ["FEE-5"]
    assert at(over["answer_by"]) == datetime(2030, 6, 7, 17, 30, tzinfo=SH)  # 3 working days
    w.ok(
        feedback,
        "POST",
        f"/complaints/{over['complaint_id']}/answer",
        {"answer": "sorry; refund on its way"},
    )
    w.ok(
        feedback,
        "POST",
        f"/complaints/{over['complaint_id']}/verification",
        {"verified": True, "finding": "paid 80 yuan for a 22 yuan repair"},
    )
    attitude = []
    for ticket, kind in ((t1, "attitude"), (t2, "attitude"), (t1, "quality")):
        c = w.ok(
            feedback,
            "POST",
            "/complaints",
            {
                "ticket_id": ticket,
                "channel": "app",
                "kind": kind,
                "engineer_id": "eng-w1",
                "description": kind,
            },
        )
        assert c["triggers"] == ["PEN-1"]
        w.ok(
            feedback,
            "POST",
            f"/complaints/{c['complaint_id']}/verification",
            {"verified": True, "finding": "confirmed"},
        )
        attitude.append(c["complaint_id"])
        await w.poll(billing, f"/penalties/PEN-1:{c['complaint_id']}")

    refund = (await w.poll(billing, f"/refunds?ticket_id={t4}", lambda b: len(b) == 1))[0]
    assert (refund["charged_fen"], refund["tariff_fen"], refund["refund_fen"]) == (8000, 2200, 5800)
    fine = await w.poll(billing, f"/penalties/FEE-5:{over['complaint_id']}")
    assert fine["fine_fen"] == 58000 and fine["subject"] == "outlet"  # 10 x the 58 yuan excess
    assert fine["outlet_id"] == "outlet-nb"
    assert {e["event_type"] for e in fine["evidence"]} == {
        "repairline.feedback.ComplaintVerified",
        "repairline.billing.ChargeAssessed",
    }
    ledger = w.ok(billing, "GET", "/engineers/eng-w1/ledger")
    pen1 = [e for e in ledger["entries"] if "PEN-1" in e["rule_ids"]]
    assert [(e["fine_fen"], e["sanction"]) for e in pen1] == [
        (20000, "fine"),
        (20000, "dismissal"),
        (20000, "demotion_or_dismissal"),
    ]
    assert all(
        e["evidence"][0]["event_type"] == "repairline.feedback.ComplaintVerified" for e in pen1
    )

    # appeal: a manager voids the repeat-offence penalty; it stays in the ledger
    repeat = pen1[1]["penalty_id"]
    status, _ = billing.request(
        "POST", f"/penalties/{repeat}/ruling", {"void": True, "manager_id": "m1", "reason": "early"}
    )
    assert status == 409  # only an appealed penalty is ruled on
    w.ok(billing, "POST", f"/penalties/{repeat}/appeal", {"reason": "not me"})
    voided = w.ok(
        billing,
        "POST",
        f"/penalties/{repeat}/ruling",
        {"void": True, "manager_id": "m1", "reason": "another engineer"},
    )
    assert voided["status"] == "voided" and voided["fine_fen"] == 20000
    ledger = w.ok(billing, "GET", "/engineers/eng-w1/ledger")
    assert (ledger["fines_fen"], ledger["standing"], ledger["voided"]) == (40000, 2, 1)

    # -- the month goes by: FBK-6 breaches, FBK-5 follow-up, 100 % coverage --------------
    for day in range(2, 9):
        w.at(MONDAY + timedelta(days=day, hours=4))
    escalated = await w.poll(
        feedback,
        "/complaints?kind=attitude",
        lambda b: all(c["status"] == "verified" for c in b) and all(c["escalated_at"] for c in b),
    )
    assert len(escalated) == 2
    follow = await w.poll(feedback, f"/callbacks?status=due&ticket_id={t2}", lambda b: len(b) == 1)
    assert follow[0]["reason"] == "dissatisfied_week"
    w.ok(
        feedback,
        "POST",
        f"/callbacks/{follow[0]['callback_id']}/attempts",
        {"reached": True, "grade": "satisfied"},
    )
    coverage = w.ok(feedback, "GET", "/reports/callback-coverage?from=2030-06-01&to=2030-06-30")
    assert (coverage["served"], coverage["reached"], coverage["percent"]) == (3, 3, "100.00")

    for day in (15, 22, 28):
        w.at(MONDAY + timedelta(days=day))
    report = w.ok(feedback, "GET", "/reports/callbacks?month=2030-06&by=engineer")
    rows = {r["engineer"]: r for r in report["rows"]}
    assert (rows["eng-w1"]["callbacks_due"], rows["eng-w1"]["valid_callbacks"]) == (3, 3)
    assert (rows["eng-w1"]["satisfied"], rows["eng-w1"]["dissatisfied"]) == (2, 1)
    assert rows["eng-w1"]["satisfaction_percent"] == "66.66"
    assert rows["eng-w1"]["not_reached_attempts"] == 1
    assert (rows["eng-w1"]["complaints_filed"], rows["eng-w1"]["complaints_escalated"]) == (3, 3)
    assert rows["eng-w2"]["average"] == 1 and rows["eng-w2"]["satisfaction_percent"] == "0.00"
    csv_text = await w.text(feedback, "/reports/callbacks?month=2030-06&by=outlet&format=csv")
    assert csv_text.splitlines()[0].startswith("outlet,callbacks_due,valid_callbacks")
    assert any(line.startswith("outlet-hz,3,3,1,0,2,0,1,66.66") for line in csv_text.splitlines())

    # -- FEE-6 settlement: fees earned minus refunds and fines, due in 60 days ------------
    w.at(datetime(2030, 7, 2, 10, 0, tzinfo=SH))
    hz = w.ok(billing, "POST", "/outlets/outlet-hz/settlements", {"period": "2030-06"})
    # T1 125 yuan + T2 0; PEN-1 200 + 200 (the voided one is not deducted)
    assert (hz["fees_fen"], hz["refunds_fen"], hz["fines_fen"], hz["net_fen"]) == (
        12500,
        0,
        40000,
        -27500,
    )
    assert hz["voucher_received_on"] == "2030-07-02" and hz["pay_by"] == "2030-08-31"
    nb = w.ok(billing, "POST", "/outlets/outlet-nb/settlements", {"period": "2030-06"})
    # T4 22 yuan; refund 58 yuan; FEE-5 fine 580 yuan
    assert (nb["fees_fen"], nb["refunds_fen"], nb["fines_fen"], nb["net_fen"]) == (
        2200,
        5800,
        58000,
        -61600,
    )
    assert nb["net_fen"] == sum(line["amount_fen"] for line in nb["lines"])
    status, again = billing.request("POST", "/outlets/outlet-nb/settlements", {"period": "2030-06"})
    assert status == 409
    statement = (
        await w.text(billing, "/outlets/outlet-nb/settlements/2030-06?format=csv")
    ).splitlines()
    assert statement[0] == (
        "outlet_id,period,kind,ticket_id,ref_id,rule_id,description,amount_yuan"
    )
    assert statement[-1].endswith(",-616.00") and "total:net" in statement[-1]

    # -- WAR-11: a constructive survey answer earns T4's unit a free repair ---------------
    sample = w.ok(feedback, "GET", "/reports/survey-sample?year=2030&percent=50")
    assert sample["population"] == 3 and len(sample["sample"]) == 2  # FBK-7, rounded up
    assert sample["drawn"] is False  # a preview until the year's sample is drawn
    drawn = w.ok(feedback, "POST", "/survey-samples", {"year": 2030, "percent": 100})
    assert drawn["population"] == 3 and t4 in drawn["sample"] and drawn["rule_ids"] == ["FBK-7"]
    status, again = feedback.request("POST", "/survey-samples", {"year": 2030, "percent": 10})
    assert status == 409 and again["current_state"] == "drawn"
    assert w.ok(feedback, "GET", "/reports/survey-sample?year=2030")["sample"] == drawn["sample"]
    rewarded = w.ok(
        feedback,
        "POST",
        f"/surveys/{t4}",
        {
            "year": 2030,
            "grade": "average",
            "answer": "a timer would help",
            "constructive": True,
            "reward": "free_repair",
        },
    )
    assert [e["type"].rsplit(".", 1)[1] for e in rewarded["events"]] == [
        "SurveyAnswered",
        "ExtensionRewardGranted",
    ]
    # the reward reaches billing through Kafka: wait until billing holds it for the unit
    billing_db = await connect(billing.database)
    try:
        await eventually(
            lambda: billing_db.fetchval(
                "select count(*) from rewards where serial_no = $1 and used_by_ticket is null",
                f"SN-T4-{w.prefix}",
            ),
            timeout=60,
        )
    finally:
        await billing_db.close()
    t = w.at(datetime(2030, 7, 8, 9, 0, tzinfo=SH))  # 35 days after T4's repair
    t5 = await w.request(
        line="instant_water_heater",
        city_tier="county_city",
        purchase_date=date(2027, 5, 5),
        serial_no=f"SN-T4-{w.prefix}",
        at=t,
    )
    await w.assign(t5, "eng-w2", t, service_point="outlet-nb")
    await w.complete(t5, "eng-w2", t)
    inv5 = await w.poll(billing, f"/tickets/{t5}/invoice")
    assert inv5["total_fen"] == 0 and inv5["lines"][0]["rule_id"] == "WAR-11"
    assert "would be 22.00 yuan" in inv5["lines"][0]["reason"]
    # WAR-10: T1's thermostat fails again within 3 months of its paid repair: free
    t6 = await w.request(
        line="instant_water_heater",
        city_tier="provincial_capital",
        purchase_date=date(2027, 1, 10),
        serial_no=f"SN{t1[:8]}",
        at=t,
    )
    q6 = await quote(w, t6, {"parts": [{"code": "thermostat"}]})
    assert q6["total_fen"] == 0
    assert [x["rule_id"] for x in q6["lines"][:2]] == ["WAR-10", "WAR-10"]

    # FBK-7: T5 was served after the sample was drawn: its customer may not answer
    async def refused_survey():
        status, body = feedback.request(
            "POST",
            f"/surveys/{t5}",
            {"year": 2030, "grade": "satisfied", "answer": "ok", "constructive": False},
        )
        return body if status == 409 else None

    assert (await eventually(refused_survey, timeout=60))["current_state"] == "not_in_sample"
    status, undrawn = feedback.request(
        "POST",
        f"/surveys/{t4}",
        {"year": 2029, "grade": "satisfied", "answer": "ok", "constructive": False},
    )
    assert status == 409 and undrawn["current_state"] == "sample_not_drawn"
    status, unbegun = feedback.request(  # a year that has not begun is not a survey's year
        "POST",
        f"/surveys/{t4}",
        {"year": 2031, "grade": "satisfied", "answer": "ok", "constructive": False},
    )
    assert status == 422 and unbegun["errors"][0]["field"] == "year"

    # -- FEE-1, WAR-1: no quote; the repair record's parts are charged from the price list --
    t7 = await w.request(
        line="instant_water_heater",
        city_tier="provincial_capital",
        purchase_date=date(2027, 1, 10),
        at=t,
    )
    await w.assign(t7, "eng-w1", t)
    await w.complete(t7, "eng-w1", t, parts_replaced=("thermostat",))
    inv7 = await w.poll(billing, f"/tickets/{t7}/invoice")
    assert lines(inv7)[:2] == [("visit", 3000, "FEE-1"), ("part:thermostat", 4500, "FEE-1")]
    assert inv7["total_fen"] == 7500 and inv7["quote_id"] is None

    # -- PEN-8: eng-w1's June, from the ledger and feedback's callback grades ------------
    feedback_db = await connect(feedback.database)
    try:
        grades = [
            r["grade"]
            for r in await feedback_db.fetch(
                "select envelope::jsonb->'data'->>'grade' as grade from events"
                " where event_type = 'repairline.feedback.CallbackCompleted'"
                " and envelope::jsonb->'data'->>'engineer_id' = 'eng-w1'"
            )
        ]
    finally:
        await feedback_db.close()
    billing_db = await connect(billing.database)
    try:  # the grades reach billing through Kafka: wait until it holds them all
        await eventually(
            lambda: billing_db.fetchval(
                "select count(*) = $1 from callback_grades where engineer_id = 'eng-w1'",
                len(grades),
            ),
            timeout=60,
        )
    finally:
        await billing_db.close()
    assessed = w.ok(billing, "POST", "/engineers/eng-w1/assessments", {"period": "2030-06"})
    counts = assessed["counts"]
    # PEN-1: one attitude complaint standing (the repeat was voided), one quality
    assert (counts["attitude_complaints"], counts["quality_complaints"]) == (1, 1)
    assert counts["missed_appointments"] == 0
    assert [counts[g] for g in ("satisfied", "average", "dissatisfied")] == [
        grades.count(g) for g in ("satisfied", "average", "dissatisfied")
    ]
    assert (assessed["attitude"], assessed["quality"], assessed["efficiency"]) == (75, 75, 100)
    assert assessed["decision"]["rule_ids"] == ["PEN-8"]
    assert assessed["decision"]["pack_id"] == "water-heater"
    proofs = {e["event_type"] for e in assessed["evidence"]}
    assert proofs == {
        "repairline.feedback.ComplaintVerified",
        "repairline.feedback.CallbackCompleted",
    }
    assert w.ok(billing, "GET", "/engineers/eng-w1/assessments?period=2030-06") == assessed
    rows = (
        await w.text(billing, "/engineers/eng-w1/assessments?period=2030-06&format=csv")
    ).splitlines()
    assert rows[0].startswith("engineer_id,period,attitude,quality,efficiency,satisfaction")
    assert rows[1].startswith(f"eng-w1,2030-06,75,75,100,{assessed['satisfaction']}")
    status, _ = billing.request("POST", "/engineers/eng-w1/assessments", {"period": "2030-06"})
    assert status == 409

    # -- FEE-6: a fine voided after the June statement is credited on July's --------------
    quality_fine = pen1[2]["penalty_id"]
    w.ok(billing, "POST", f"/penalties/{quality_fine}/appeal", {"reason": "part was faulty"})
    w.ok(
        billing,
        "POST",
        f"/penalties/{quality_fine}/ruling",
        {"void": True, "manager_id": "m1", "reason": "supplier fault"},
    )
    w.at(datetime(2030, 8, 1, 10, 0, tzinfo=SH))
    july = w.ok(billing, "POST", "/outlets/outlet-hz/settlements", {"period": "2030-07"})
    credits = [x for x in july["lines"] if x["kind"] == "credit"]
    assert [(x["ref_id"], x["amount_fen"], x["rule_id"]) for x in credits] == [
        (quality_fine, 20000, "FEE-6")
    ]
    assert credits[0]["earlier_statement_id"] == "outlet-hz:2030-06"
    assert july["credits_fen"] == 20000 and july["fees_fen"] == 7500
    assert july["net_fen"] == sum(x["amount_fen"] for x in july["lines"]) == 27500

    # -- every fine points at its proof; replay equals the live projections ---------------
    for penalty in w.ok(billing, "GET", "/penalties"):
        assert penalty["evidence"] and all(e["event_id"] for e in penalty["evidence"])
    await w.replay_equals_live(
        {
            "billing": [
                "charges",
                "quotes",
                "penalties",
                "refunds",
                "settlements",
                "callback_grades",
                "assessments",
            ],
            "feedback": ["callbacks", "served", "complaints", "cases"],
        }
    )
