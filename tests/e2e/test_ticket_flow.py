"""The four services as separate processes, driven only through their HTTP APIs."""

from __future__ import annotations

from datetime import datetime

from tests.support.factories import request_body
from tests.support.system import admin_clock_advance, connect, poll


async def test_a_repair_request_travels_to_completion_charge_and_callback(services, prefix):
    intake, dispatch = services["intake"], services["dispatch"]
    billing, feedback = services["billing"], services["feedback"]
    assert (
        dispatch.request(
            "PUT",
            "/engineers/eng-e2e",
            {"name": "Zhang Min", "region": "cn-east", "skills": ["instant_water_heater"]},
        )[0]
        == 200
    )

    status, created = intake.request("POST", "/tickets", request_body())
    assert status == 201, created
    ticket = created["ticket_id"]
    assert created["service_request_no"].startswith("SR")
    assert created["repair_order_no"].startswith("RO-CN-EAST-")
    assert created["needs_verification"] is False

    view = await poll(intake, f"/tickets/{ticket}", lambda b: b["status"] == "engineer_assigned")
    assert view["engineer_id"] == "eng-e2e"

    status, conflict = dispatch.request(
        "POST", f"/tickets/{ticket}/completion", {"resolution": "replaced the thermostat"}
    )
    assert status == 409
    assert conflict["current_state"] == "assigned"

    assert (
        dispatch.request("POST", f"/tickets/{ticket}/arrival", {"engineer_id": "eng-e2e"})[0] == 200
    )
    status, _ = dispatch.request(
        "POST", f"/tickets/{ticket}/completion", {"resolution": "replaced the thermostat"}
    )
    assert status == 200
    status, again = dispatch.request(
        "POST", f"/tickets/{ticket}/completion", {"resolution": "twice"}
    )
    assert status == 409
    assert again["current_state"] == "completed"
    assert "already completed" in again["detail"]

    charge = await poll(billing, f"/tickets/{ticket}/charge", lambda b: True)
    # bought 2024-03-01: out of its 12-month warranty; provincial capital, on site: 30 yuan
    assert charge["total_fen"] == 3000
    assert charge["inputs"]["unit_in_warranty"] is False
    assert "FEE-1" in charge["decision"]["rule_ids"]
    assert sum(line["amount_fen"] for line in charge["lines"]) == charge["total_fen"]

    scheduled = await poll(
        feedback, f"/callbacks?status=scheduled&ticket_id={ticket}", lambda b: len(b) == 1
    )
    assert scheduled[0]["decision"]["rule_ids"] == ["FBK-2"]
    status, due_now = feedback.request("GET", f"/callbacks?status=due&ticket_id={ticket}")
    assert status == 200 and due_now == []

    # to one minute past the callback's due time (the next working morning, FBK-2)
    _, clock = feedback.request("GET", "/admin/clock")
    wait = datetime.fromisoformat(scheduled[0]["due_at"]) - datetime.fromisoformat(clock["now"])
    advanced = admin_clock_advance(feedback, wait.total_seconds() + 60)
    assert advanced.returncode == 0, advanced.stderr
    await poll(feedback, f"/callbacks?status=due&ticket_id={ticket}", lambda b: len(b) == 1)

    final = await poll(intake, f"/tickets/{ticket}", lambda b: b["status"] == "callback_due")
    assert final["charge_total_fen"] == 3000
    kinds = [t["type"].rsplit(".", 1)[1] for t in final["timeline"]]
    # each context stamps its own time, so charge and callback may come in either order
    assert kinds[:4] == ["RepairRequested", "EngineerAssigned", "ArrivedOnSite", "RepairCompleted"]
    assert sorted(kinds[4:]) == ["CallbackDue", "CallbackScheduled", "ChargeAssessed"]
    assert len({t["event_id"] for t in final["timeline"]}) == 7

    # replay of intake's cross-context view equals the live one
    db = await connect(intake.database)
    try:
        live = [tuple(r.values()) for r in await db.fetch("select * from ticket_view order by 1")]
        timeline = [
            tuple(r.values()) for r in await db.fetch("select * from ticket_timeline order by 1")
        ]
        assert intake.terminate() == 0
        replayed = intake.replay()
        assert replayed.returncode == 0, replayed.stderr
        assert [
            tuple(r.values()) for r in await db.fetch("select * from ticket_view order by 1")
        ] == live
        assert [
            tuple(r.values()) for r in await db.fetch("select * from ticket_timeline order by 1")
        ] == timeline
    finally:
        await db.close()


async def test_incomplete_requests_are_accepted_and_marked_for_verification(services):
    body = request_body(customer={"name": "Li Wei"}, customer_wants=None)
    body["product"].pop("serial_no")
    status, created = services["intake"].request("POST", "/tickets", body)
    assert status == 201
    assert created["needs_verification"] is True
    assert "missing: address" in created["verification_issues"]
    assert "missing: phone_or_mobile" in created["verification_issues"]
    assert "missing: serial_number" in created["verification_issues"]
    view = await poll(services["intake"], f"/tickets/{created['ticket_id']}", lambda b: True)
    assert view["needs_verification"] is True


async def test_a_ticket_nobody_can_take_waits_visibly_until_an_engineer_arrives(services):
    intake, dispatch = services["intake"], services["dispatch"]
    status, created = intake.request("POST", "/tickets", request_body(region="cn-west"))
    assert status == 201
    ticket = created["ticket_id"]
    waiting = await poll(
        intake, f"/tickets/{ticket}", lambda b: b["status"] == "waiting_for_engineer"
    )
    assert "no active engineer" in waiting["timeline"][-1]["reason"]

    status, put = dispatch.request(
        "PUT",
        "/engineers/eng-west",
        {"name": "Zhao Lei", "region": "cn-west", "skills": ["instant_water_heater"]},
    )
    assert status == 200 and put["assigned_waiting"] == 1
    assigned = await poll(
        intake, f"/tickets/{ticket}", lambda b: b["status"] == "engineer_assigned"
    )
    assert assigned["engineer_id"] == "eng-west"
