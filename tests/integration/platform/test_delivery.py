"""Delivery semantics on the real broker and database: duplicates, dead letters, CloudEvents."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from cloudevents.v1.kafka import KafkaMessage, from_structured

from repairline_contracts.dispatch import EngineerAssigned
from repairline_contracts.topics import DEAD_LETTER, DISPATCH_EVENTS, INTAKE_EVENTS
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_platform.runtime import Runtime
from repairline_platform.settings import ServiceSettings
from tests.support.factories import repair_requested
from tests.support.system import (
    KAFKA,
    PG,
    drop_database,
    envelope_bytes,
    eventually,
    produce,
    read_topic,
)


@pytest.fixture
async def dispatch(prefix: str) -> AsyncIterator[Runtime]:
    database = f"{prefix.rstrip('.')}_dispatch"
    rt = Runtime(
        DISPATCH,
        ServiceSettings(
            kafka_bootstrap=KAFKA,
            pg_dsn=PG,
            topic_prefix=prefix,
            database=database,
            clock="simulated",
            batch_timeout_ms=50,
        ),
    )
    await rt.start()
    await rt.pool.execute(
        "insert into engineers values ('eng-1', 'Engineer One', 'cn-east',"
        " array['instant_water_heater'], true, now())"
    )
    try:
        yield rt
    finally:
        await rt.stop()
        await drop_database(database)


async def consumed(rt: Runtime, consumer: str) -> int:
    return await rt.pool.fetchval(
        "select coalesce(sum(next_offset), 0) from consumer_offsets where consumer = $1", consumer
    )


async def test_the_same_event_delivered_twice_changes_nothing(dispatch: Runtime, prefix: str):
    event = repair_requested()
    raw = envelope_bytes(event, event_id=str(uuid.uuid4()))
    key = event.ticket_id.encode()
    await produce(prefix + INTAKE_EVENTS, [(key, raw), (key, raw)])

    await eventually(lambda: _equals(consumed(dispatch, "dispatch.assignment"), 2))

    assert (
        await dispatch.pool.fetchval(
            "select count(*) from events where stream_id = $1 and event_type = $2",
            event.ticket_id,
            EngineerAssigned.event_type,
        )
        == 1
    )
    assert (
        await dispatch.pool.fetchval(
            "select count(*) from engineer_jobs where engineer_id = 'eng-1' and open"
        )
        == 1
    )


async def test_a_redelivery_after_the_offsets_were_stored_is_ignored_too(
    dispatch: Runtime, prefix: str
):
    event = repair_requested()
    raw = envelope_bytes(event)
    await produce(prefix + INTAKE_EVENTS, [(event.ticket_id.encode(), raw)])
    await eventually(lambda: _equals(consumed(dispatch, "dispatch.assignment"), 1))
    await produce(prefix + INTAKE_EVENTS, [(event.ticket_id.encode(), raw)])
    await eventually(lambda: _equals(consumed(dispatch, "dispatch.assignment"), 2))

    assert await _assignments(dispatch, event.ticket_id) == 1


async def test_the_offsets_a_consumer_applied_reach_kafka_for_its_lag_tools(
    dispatch: Runtime, prefix: str
):
    """KEDA scales on the groups' offsets committed to Kafka: they follow the stored ones
    within a second of the last batch, though not after every batch."""
    events = [repair_requested() for _ in range(3)]
    await produce(
        prefix + INTAKE_EVENTS, [(e.ticket_id.encode(), envelope_bytes(e)) for e in events]
    )
    await eventually(lambda: _equals(consumed(dispatch, "dispatch.assignment"), 3))

    stored = await dispatch.pool.fetch(
        "select topic, partition, next_offset from consumer_offsets where consumer = $1",
        "dispatch.assignment",
    )
    expected = {(r["topic"], r["partition"]): r["next_offset"] for r in stored if r["next_offset"]}
    assert sum(expected.values()) == 3
    assert await eventually(
        lambda: _equals(_kafka_offsets(f"{prefix}dispatch.assignment"), expected), timeout=10
    )


async def _kafka_offsets(group: str) -> dict[tuple[str, int], int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {
        (tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset > 0
    }


async def test_unreadable_messages_go_to_dead_letters_with_their_origin_and_the_consumer_carries_on(
    dispatch: Runtime, prefix: str
):
    good = repair_requested()
    key = good.ticket_id.encode()  # one key: one partition, so order is kept
    valid = json.loads(envelope_bytes(repair_requested(good.ticket_id)))
    unknown_type = {**valid, "id": str(uuid.uuid4()), "type": "repairline.intake.Teleported"}
    bad_data = {**valid, "id": str(uuid.uuid4()), "data": {"ticket_id": good.ticket_id}}
    other = repair_requested()
    too_new = {
        **json.loads(envelope_bytes(other)),
        "id": str(uuid.uuid4()),
        "schemaversion": 99,
    }
    topic = prefix + INTAKE_EVENTS
    await produce(
        topic,
        [
            (key, b"this is not json"),
            (key, json.dumps(unknown_type).encode()),
            (key, json.dumps(bad_data).encode()),
            (key, envelope_bytes(good)),
            (other.ticket_id.encode(), json.dumps(too_new).encode()),
        ],
    )

    await eventually(lambda: _equals(consumed(dispatch, "dispatch.assignment"), 5))
    assert await _assignments(dispatch, good.ticket_id) == 1

    dead = await eventually(lambda: _at_least(read_topic(prefix + DEAD_LETTER), 3))
    # dead letters are delivered at least once: readers deduplicate on the origin
    by_origin = {json.loads(r.value)["data"]["origin"]["offset"]: json.loads(r.value) for r in dead}
    letters = [by_origin[o] for o in sorted(by_origin)]
    origins = [d["data"]["origin"] for d in letters]
    assert {o["topic"] for o in origins} == {topic}
    assert len({o["partition"] for o in origins}) == 1
    assert [o["offset"] for o in origins] == [0, 1, 2]
    errors = [d["data"]["error"] for d in letters]
    assert "not JSON" in errors[0]
    assert "unknown event type" in errors[1]
    assert "does not match its schema" in errors[2]
    assert letters[0]["data"]["payload_text"] == "this is not json"
    assert all(d["data"]["consumer"] == "dispatch.assignment" for d in letters)

    # a newer schema version of a handled type is held for the upgraded consumer, not dropped
    held = await dispatch.pool.fetch(
        "select stream_id, schema_version from parked_events where consumer = $1",
        "dispatch.assignment",
    )
    assert [(r["stream_id"], r["schema_version"]) for r in held] == [(other.ticket_id, 99)]
    assert await _assignments(dispatch, other.ticket_id) == 0


async def test_published_messages_are_cloudevents_readable_without_repairline_code(
    dispatch: Runtime, prefix: str
):
    request = repair_requested()
    raw = envelope_bytes(request)
    correlation = json.loads(raw)["correlationid"]
    await produce(prefix + INTAKE_EVENTS, [(request.ticket_id.encode(), raw)])

    records = await eventually(lambda: _at_least(read_topic(prefix + DISPATCH_EVENTS), 1))
    [record] = [
        r
        for r in records
        if r.key == request.ticket_id.encode()
        and json.loads(r.value)["type"] == EngineerAssigned.event_type
    ]
    headers = {k: v for k, v in record.headers}
    assert headers["content-type"].startswith(b"application/cloudevents+json")

    event = from_structured(KafkaMessage(headers=headers, key=record.key, value=record.value))
    assert event["specversion"] == "1.0"
    assert event["type"] == EngineerAssigned.event_type
    assert event["source"] == "/dispatch"
    assert event["subject"] == request.ticket_id
    assert event["region"] == "cn-east"
    assert event["policypack"] == "water-heater"
    assert event["correlationid"] == correlation
    assert event["causationid"] == json.loads(raw)["id"]
    assert event["streamversion"] == 1
    assert event.data["engineer_id"] == "eng-1"


async def _assignments(rt: Runtime, ticket_id: str) -> int:
    return await rt.pool.fetchval(
        "select count(*) from events where stream_id = $1 and event_type = $2",
        ticket_id,
        EngineerAssigned.event_type,
    )


async def _equals(awaitable, expected):
    return (await awaitable) == expected


async def _at_least(awaitable, n):
    value = await awaitable
    return value if len(value) >= n else None
