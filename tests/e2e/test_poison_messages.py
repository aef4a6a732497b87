"""One 100 KB and one 900 KB unreadable message on every topic, with all four services running:
each dead-lettered once per consumer in a small dead letter, every consumer group caught up
within 30 s, and a ticket created afterwards still flows to its callback."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from repairline_contracts.topics import CONTEXT_TOPICS, DEAD_LETTER
from tests.support.factories import repair_requested, request_body
from tests.support.system import (
    ServiceProcess,
    admin_clock_advance,
    connect,
    end_offsets,
    envelope_bytes,
    eventually,
    produce,
    read_topic,
)


def poisons(key: bytes) -> list[tuple[bytes, bytes]]:
    """100 KB: a CloudEvent whose data matches no schema; 900 KB: not JSON at all."""
    envelope = json.loads(envelope_bytes(repair_requested()))
    envelope["data"] = {f"field_{i}": "x" * 2_500 for i in range(40)}
    return [(key, json.dumps(envelope).encode()), (key, b"{" + b"x" * 900 * 1024)]


async def positions(procs: dict[str, ServiceProcess]) -> dict[tuple[str, str, int], int]:
    out = {}
    for proc in procs.values():
        db = await connect(proc.database)
        try:
            for r in await db.fetch(
                "select consumer, topic, partition, next_offset from consumer_offsets"
            ):
                out[(r["consumer"], r["topic"], r["partition"])] = r["next_offset"]
        finally:
            await db.close()
    return out


async def dead_letter_rows(procs: dict[str, ServiceProcess]) -> set[tuple[str, str, int, int]]:
    out = set()
    for proc in procs.values():
        db = await connect(proc.database)
        try:
            rows = await db.fetch(
                "select consumer, origin_topic, origin_partition, origin_offset from dead_letters"
            )
            out |= {tuple(r.values()) for r in rows}
        finally:
            await db.close()
    return out


async def test_large_poison_on_every_topic_is_dead_lettered_once_and_nothing_stalls(
    services, prefix
):
    topics = [prefix + t for t in CONTEXT_TOPICS.values()]
    key = b"poison-ticket"
    for topic in topics:
        await produce(topic, poisons(key))
    ends = await end_offsets(topics)
    poisoned = {(t, p): offset for (t, p), offset in ends.items() if offset}

    async def lags() -> dict[str, dict[str, Any]] | None:
        """Each service's consumers as `/readyz` reports them, once none is behind."""
        checks = {}
        for name, proc in services.items():
            status, ready = proc.request("GET", "/readyz")
            assert status == 200, ready
            checks[name] = ready["checks"]["consumers"]
        behind = [c for seen in checks.values() for c in seen.values() if c["lag"] != 0]
        return None if behind else checks

    async def caught_up() -> tuple[dict, set[str]] | None:
        """The stored offsets and the consumers, once every consumer stored an offset past
        the poisons of its topics and `/readyz` shows none behind (the consumers that only
        confirm their projection's events fetch once a second, so they come last)."""
        stored = await positions(services)
        readers = {(c, t, p) for (c, t, p) in stored if (t, p) in poisoned}
        behind = [k for k in readers if stored[k] < poisoned[(k[1], k[2])]]
        checks = None if behind else await lags()
        if checks is None:
            return None
        consumers = {c for seen in checks.values() for c in seen}
        return (stored, consumers) if {c for c, _, _ in readers} == consumers else None

    # every consumer group's lag back to 0 within 30 s
    stored, consumers = await eventually(caught_up, timeout=30, interval=0.5)
    # every topic is poisoned, so every consumer of every service read a poison
    assert {c for c, _, _ in stored} == consumers
    assert len(consumers) >= 20

    # each poison dead-lettered exactly once by every consumer that read it
    dead = await dead_letter_rows(services)
    readers = {(c, t, p) for (c, t, p) in stored if (t, p) in poisoned}
    expected = {(c, t, p, o) for (c, t, p) in readers for o in range(poisoned[(t, p)])}
    assert dead == expected
    assert {t for _, t, _ in readers} == set(topics)

    # the notices on the dead-letter topic are small, and each says where its record lies
    async def all_notices() -> list | None:
        notices = await read_topic(prefix + DEAD_LETTER)
        seen = {
            (
                json.loads(r.value)["data"]["consumer"],
                *json.loads(r.value)["data"]["origin"].values(),
            )
            for r in notices
        }
        return notices if seen == expected else None

    notices = await eventually(all_notices, timeout=30)
    assert max(len(r.value) for r in notices) < 16 * 1024

    await _a_ticket_flows_to_its_callback(services)


async def _a_ticket_flows_to_its_callback(services: dict[str, ServiceProcess]) -> None:
    intake, dispatch, feedback = services["intake"], services["dispatch"], services["feedback"]
    engineer = {"name": "Zhang Min", "region": "cn-east", "skills": ["instant_water_heater"]}
    assert dispatch.request("PUT", "/engineers/eng-e2e", engineer)[0] == 200
    status, created = intake.request("POST", "/tickets", request_body())
    assert status == 201, created
    ticket = created["ticket_id"]

    async def assigned() -> bool:
        status, view = intake.request("GET", f"/tickets/{ticket}")
        return status == 200 and view["status"] == "engineer_assigned"

    await eventually(assigned, timeout=60)
    assert (
        dispatch.request("POST", f"/tickets/{ticket}/arrival", {"engineer_id": "eng-e2e"})[0] == 200
    )
    status, _ = dispatch.request(
        "POST", f"/tickets/{ticket}/completion", {"resolution": "replaced the thermostat"}
    )
    assert status == 200

    async def scheduled() -> Any:
        status, found = feedback.request("GET", f"/callbacks?status=scheduled&ticket_id={ticket}")
        return found if status == 200 and len(found) == 1 else None

    [callback] = await eventually(scheduled, timeout=60)
    # to one minute past the callback's due time: the next working morning (FBK-2), which
    # may be days away across a weekend or a holiday
    _, clock = feedback.request("GET", "/admin/clock")
    wait = datetime.fromisoformat(callback["due_at"]) - datetime.fromisoformat(clock["now"])
    advanced = admin_clock_advance(feedback, wait.total_seconds() + 60)
    assert advanced.returncode == 0, advanced.stderr

    async def due() -> bool:
        status, view = intake.request("GET", f"/tickets/{ticket}")
        return status == 200 and view["status"] == "callback_due"

    await eventually(due, timeout=60)
