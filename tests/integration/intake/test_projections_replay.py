"""Every intake projection rebuilt by `replay` from offset 0 equals the live one, on the
real Kafka and PostgreSQL; a projection the flow leaves empty, or one not compared, fails."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from repairline_contracts.dispatch import EngineerAssigned, RepairCompleted
from repairline_contracts.topics import CONTEXT_TOPICS
from repairline_intake.main import SPEC as INTAKE
from tests.support.factories import request_body
from tests.support.system import ServiceProcess, System, replay_every_projection, send


async def test_replay_rebuilds_the_ticket_view_and_the_sales_records_equal_to_the_live_ones(
    prefix: str,
):
    system = System(prefix, "water-heater", ("intake",)).start()
    service = system.intake
    try:
        serials = [f"SN{prefix[1:7].upper()}{n}" for n in range(3)]
        for n, serial in enumerate(serials):
            put_sale(service, serial, date(2026, 1 + n, 1))
        put_sale(service, serials[0], date(2025, 5, 1))  # WAR-3: a correction replaces it
        put_sale(service, serials[1], date(2026, 2, 1))  # the same again: nothing new
        created = [create(service, serial) for serial in serials]
        assert all(c["warranty"] is not None for c in created)
        status, _ = service.request("POST", "/tickets", with_serial(serials[2]))
        assert status == 409  # a duplicate, noted on the open ticket
        status, refused = service.request(
            "POST",
            "/tickets",
            request_body(channel="dealer", dealer={"name": "Riverside"}, customer={"name": None}),
        )
        assert status == 422 and refused["rule_id"] == "INT-4"
        done = created[0]["ticket_id"]
        await send(prefix, CONTEXT_TOPICS["dispatch"], dispatched(done))
        replayed = await replay_every_projection(service, prefix)
        live = replayed.live
        assert len(live["sales_records"]) == 3
        assert {r[0]: r[3] for r in live["sales_records"]}[serials[0]] == date(2025, 5, 1)
        assert any(r[1] == "repair_completed" for r in live["ticket_facts"])
        assert "intake.sales-records" in replayed.stdout
        assert "intake.ticket-view" in replayed.stdout
        replayed.assert_covers(INTAKE)
    finally:
        system.stop()
        await system.drop()


def put_sale(service: ServiceProcess, serial: str, sold_on: date) -> dict[str, Any]:
    body = {"product_line": "instant_water_heater", "sold_on": str(sold_on)}
    status, answer = service.request("PUT", f"/sales-records/{serial}", body)
    assert status == 200, answer
    assert answer["serial_no"] == serial and answer["sold_on"] == str(sold_on)
    return answer


def with_serial(serial: str) -> dict[str, Any]:
    body = request_body()
    body["product"]["serial_no"] = serial
    return body


def create(service: ServiceProcess, serial: str) -> dict[str, Any]:
    status, created = service.request("POST", "/tickets", with_serial(serial))
    assert status == 201, created
    return created


def dispatched(ticket_id: str) -> list[Any]:
    at = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    return [
        EngineerAssigned(
            ticket_id=ticket_id,
            engineer_id="eng-a",
            region="cn-east",
            skill="instant_water_heater",
            open_jobs_before=0,
            reason="DSP-1: the only one",
            assigned_at=at,
        ),
        RepairCompleted(ticket_id=ticket_id, engineer_id="eng-a", completed_at=at, resolution="ok"),
    ]
