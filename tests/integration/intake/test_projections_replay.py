"""Every intake projection rebuilt by `replay` from offset 0 equals the live one, on the
real Kafka and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer

from repairline_contracts.dispatch import EngineerAssigned, RepairCompleted
from repairline_contracts.topics import CONTEXT_TOPICS
from repairline_intake.projections import all_projections
from repairline_platform.kafka import topic_partitions
from tests.support.factories import request_body
from tests.support.system import (
    KAFKA,
    ROOT,
    ServiceProcess,
    connect,
    drop_database,
    envelope_bytes,
    eventually,
    produce,
)

TABLES = [table for projection in all_projections() for table in projection.tables]
CONSUMED = {f"intake.{p.name}": p.topics for p in all_projections()}


async def test_replay_rebuilds_the_ticket_view_and_the_sales_records_equal_to_the_live_ones(
    prefix: str,
):
    database = f"{prefix.rstrip('.')}_intake"
    service = ServiceProcess("intake", prefix=prefix, database=database).start()
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
        await produce(
            prefix + CONTEXT_TOPICS["dispatch"],
            [(done.encode(), envelope_bytes(e)) for e in dispatched(done)],
        )
        db = await connect(database)
        try:
            await eventually(lambda: settled(db, prefix), timeout=60, interval=0.2)
            live = {table: await rows(db, table) for table in TABLES}
            assert len(live["sales_records"]) == 3
            assert {r[0]: r[3] for r in live["sales_records"]}[serials[0]] == date(2025, 5, 1)
            assert any(r[1] == "repair_completed" for r in live["ticket_facts"])
            assert service.terminate() == 0
            replayed = replay(service)
            assert replayed.returncode == 0, replayed.stderr
            assert "intake.sales-records" in replayed.stdout
            assert "intake.ticket-view" in replayed.stdout
            for table in TABLES:
                assert await rows(db, table) == live[table], f"{table} differs after replay"
        finally:
            await db.close()
    finally:
        service.terminate()
        await drop_database(database)


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


async def settled(db: Any, prefix: str) -> bool:
    """Everything intake recorded is published, and each projection consumed all it reads."""
    if await db.fetchval("select count(*) from events where published_at is null"):
        return False
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None)
    await consumer.start()
    try:
        topics = sorted({prefix + t for ts in CONSUMED.values() for t in ts})
        end = await consumer.end_offsets(await topic_partitions(KAFKA, topics))
    finally:
        await consumer.stop()
    for name, consumed in CONSUMED.items():
        stored = {
            (r["topic"], r["partition"]): r["next_offset"]
            for r in await db.fetch(
                "select topic, partition, next_offset from consumer_offsets where consumer = $1",
                name,
            )
        }
        for tp, offset in end.items():
            wanted = tp.topic[len(prefix) :] in consumed
            if wanted and offset and stored.get((tp.topic, tp.partition), 0) < offset:
                return False
    return True


async def rows(db: Any, table: str) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in await db.fetch(f"select * from {table} order by 1, 2")]


def replay(service: ServiceProcess) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "repairline-intake"), "replay"],
        env={**os.environ, **service.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
