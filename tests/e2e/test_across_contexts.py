"""Billing, feedback and dispatch agree through the log alone (FEE-4, FBK-5)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.factories import request_body
from tests.support.system import ServiceProcess, eventually


async def until(proc: ServiceProcess, method: str, path: str, check, body=None):
    async def attempt():
        status, answer = proc.request(method, path, body)
        return (status, answer) if check(status, answer) else None

    return await eventually(attempt, timeout=60)


async def test_fee_4_fbk_5_chargeable_work_waits_for_the_quote_and_dissatisfaction_brings_a_revisit(
    services,
):
    intake, dispatch = services["intake"], services["dispatch"]
    billing, feedback = services["billing"], services["feedback"]
    engineer = {"name": "Zhang Min", "region": "cn-east", "skills": ["instant_water_heater"]}
    assert dispatch.request("PUT", "/engineers/eng-x", engineer)[0] == 200

    # bought 2024-03-01 with an invoice: out of warranty, so the visit is chargeable
    body = request_body(fault_kind="hardware", proof={"invoice_date": "2024-03-01"})
    status, created = intake.request("POST", "/tickets", body)
    assert status == 201, created
    ticket = created["ticket_id"]

    await until(dispatch, "GET", f"/tickets/{ticket}", lambda s, b: s == 200 and b["engineer_id"])
    assert dispatch.request("POST", f"/tickets/{ticket}/arrival", {})[0] == 200

    # FEE-4: no work before the customer accepted a quote (dispatch learns it from billing)
    await until(
        dispatch,
        "POST",
        f"/tickets/{ticket}/work-started",
        lambda s, b: s == 409 and b["current_state"] == "awaiting_quote_acceptance",
        body={},
    )
    status, quote = billing.request(
        "POST", f"/tickets/{ticket}/quotes", {"engineer_id": "eng-x", "parts": []}
    )
    assert status in (200, 201), quote
    assert quote["total_fen"] == 3000  # FEE-1: provincial capital, on site, out of warranty
    status, accepted = billing.request(
        "POST", f"/tickets/{ticket}/quotes/{quote['quote_id']}/acceptance"
    )
    assert status == 200, accepted
    await until(dispatch, "POST", f"/tickets/{ticket}/work-started", lambda s, b: s == 200, body={})
    status, done = dispatch.request(
        "POST",
        f"/tickets/{ticket}/completion",
        {
            "resolution": "replaced the thermostat",
            "signed_by": "Li Wei",
            "repair_record": {"fault_found": "thermostat open", "parts_replaced": []},
        },
    )
    assert status == 200, done

    _, invoice = await until(billing, "GET", f"/tickets/{ticket}/invoice", lambda s, b: s == 200)
    assert invoice["quote_id"] == quote["quote_id"]
    assert invoice["matches_quote"] is True
    assert (
        invoice["total_fen"]
        == quote["total_fen"]
        == sum(line["amount_fen"] for line in invoice["lines"])
    )

    # FBK-2 then FBK-5: the next working morning's callback finds the customer dissatisfied
    callback_id = f"{ticket}:after_service"
    _, scheduled = await until(
        feedback,
        "GET",
        f"/callbacks?status=scheduled&ticket_id={ticket}",
        lambda s, b: s == 200 and any(c["callback_id"] == callback_id for c in b),
    )
    due_at = datetime.fromisoformat(scheduled[0]["due_at"])
    _, clock = feedback.request("GET", "/admin/clock")
    wait = due_at - datetime.fromisoformat(clock["now"]) + timedelta(minutes=1)
    assert (
        feedback.request("POST", "/admin/clock/advance", {"seconds": wait.total_seconds()})[0]
        == 200
    )
    await until(
        feedback,
        "GET",
        f"/callbacks?status=due&ticket_id={ticket}",
        lambda s, b: s == 200 and any(c["callback_id"] == callback_id for c in b),
    )
    status, graded = feedback.request(
        "POST",
        f"/callbacks/{callback_id}/attempts",
        {"reached": True, "grade": "dissatisfied", "reason": "still no hot water"},
    )
    assert status in (200, 201), graded

    # someone goes on site at once: dispatch opened a revisit and assigned it. Each
    # context's events reach intake's view through its own topic, in no agreed order, so
    # wait for all of them rather than for the last one expected.
    expected = {
        "WarrantyDecided",
        "QuoteIssued",
        "QuoteAccepted",
        "WorkStarted",
        "RepairCompleted",
        "ChargeAssessed",
        "CallbackDue",
        "RevisitRequested",
        "RevisitOpened",
    }

    def kinds_of(view) -> list[str]:
        return [t["type"].rsplit(".", 1)[1] for t in view["timeline"]]

    _, view = await until(
        intake,
        "GET",
        f"/tickets/{ticket}",
        lambda s, b: (
            s == 200 and expected <= set(kinds_of(b)) and kinds_of(b).count("EngineerAssigned") == 2
        ),
    )
    kinds = kinds_of(view)  # the revisit was assigned too: two EngineerAssigned
    assert kinds.index("QuoteAccepted") < kinds.index("WorkStarted")
