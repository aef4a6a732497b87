"""DSP-9 on dispatch's HTTP API (real Kafka and PostgreSQL): the engineer on site records
his knocks and his phone call; the checklist says what the pack still asks before
'customer not found'; the fields refused are named; another engineer and another
region's dispatcher get the 404 of a missing ticket."""

from __future__ import annotations

from repairline_contracts.topics import INTAKE_EVENTS
from tests.support.asof import advance, clock, publish
from tests.support.auth import token
from tests.support.factories import repair_requested
from tests.support.infra import ServiceProcess, connect, drop_database, eventually

ENGINEER = "eng-search-a"


async def test_dsp_9_the_search_is_recorded_and_checked_off_before_not_found(prefix: str):
    database = f"{prefix.rstrip('.')}_dispatch_search"
    service = ServiceProcess(
        "dispatch",
        prefix=prefix,
        database=database,
        extra_env={"REPAIRLINE_CLOCK_DATE": "2026-11-24"},
    ).start()
    db = await connect(database)
    own = token("engineer", regions=["cn-east"], engineer_id=ENGINEER)
    try:
        engineer = {"name": "Wang Fang", "region": "cn-east", "skills": ["instant_water_heater"]}
        assert service.request("PUT", f"/engineers/{ENGINEER}", engineer)[0] == 200
        request = repair_requested().model_copy(update={"requested_at": clock(service)})
        await publish(prefix + INTAKE_EVENTS, request, clock(service))
        ticket = request.ticket_id
        path = f"/tickets/{ticket}/customer-search"

        async def assigned() -> bool:
            return service.request("GET", f"/tickets/{ticket}")[0] == 200

        await eventually(assigned, timeout=60, interval=0.2)
        status, body = service.request("GET", path, token=own)
        assert status == 409, body  # not on site yet
        assert service.request("POST", f"/tickets/{ticket}/arrival", {}, token=own)[0] == 200

        status, listed = service.request("GET", path, token=own)
        assert status == 200, listed
        assert listed["missing"] == ["knock", "phone", "wait"]
        assert listed["decision"]["rule_ids"] == ["DSP-9"]
        assert listed["knocks_required"] == 10 and listed["note_left_at"] == "door"

        status, body = service.request("POST", path, {"step": "shout"}, token=own)
        assert status == 422 and [e["field"] for e in body["errors"]] == ["step"], body
        status, body = service.request("POST", path, {"step": "phone"}, token=own)
        assert status == 422 and body["rule_id"] == "DSP-9", body  # before the pack's 5 min
        for _ in range(10):
            status, body = service.request("POST", path, {"step": "knock"}, token=own)
            assert status == 200 and body["state"] == "on_site", body
        advance(service, minutes=5)
        assert service.request("POST", path, {"step": "phone"}, token=own)[0] == 200
        assert service.request("GET", path, token=own)[1]["missing"] == ["wait"]

        other = token("engineer", regions=["cn-east"], engineer_id="eng-search-b")
        south = token("dispatcher", regions=["cn-south"])
        for outsider in (other, south):
            assert service.request("GET", path, token=outsider)[0] == 404
            assert service.request("POST", path, {"step": "knock"}, token=outsider)[0] == 404
        assert service.request("GET", path, token=token("billing"))[0] == 403

        advance(service, minutes=10)
        assert service.request("GET", path, token=own)[1]["missing"] == []
        status, body = service.request("POST", f"/tickets/{ticket}/customer-not-found", {})
        assert status == 200 and body["state"] == "needs_rebooking", body
        types = await db.fetch(
            "select event_type from events where stream_id = $1 order by stream_version", ticket
        )
        kinds = [r["event_type"].rsplit(".", 1)[-1] for r in types]
        assert kinds.count("CustomerSearched") == 11
    finally:
        await db.close()
        service.terminate()
        await drop_database(database)
