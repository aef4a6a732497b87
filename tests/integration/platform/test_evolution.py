"""Producers ship first: newer events are held, never lost, and applied once after the upgrade."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest

from repairline_contracts import registry
from repairline_contracts.intake import RepairRequested
from repairline_contracts.topics import INTAKE_EVENTS
from repairline_platform.health import readiness
from repairline_platform.runtime import Runtime
from tests.integration.platform.dispatch import (
    add_engineer,
    assignments,
    consumed,
    database_of,
    dispatch_runtime,
)
from tests.support.factories import repair_requested
from tests.support.system import drop_database, envelope_bytes, eventually, produce


class RepairRequestedV2(RepairRequested):
    """What intake ships first: one more optional field, schema version 2."""

    schema_version: ClassVar[int] = 2
    preferred_language: str | None = None


def v2_bytes(event: RepairRequested) -> bytes:
    body = json.loads(envelope_bytes(event))
    body["schemaversion"] = 2
    body["data"]["preferred_language"] = "zh"
    return json.dumps(body).encode()


def tolerated_v1_bytes(event: RepairRequested) -> bytes:
    """Version 1 with an optional data field and a CloudEvents extension added by a tool."""
    body = json.loads(envelope_bytes(event))
    body["data"]["preferred_language"] = "zh"
    body["data"]["customer"]["wechat_id"] = "wx-1"
    body["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    return json.dumps(body).encode()


@pytest.fixture
async def cleanup(prefix: str) -> AsyncIterator[list[Runtime]]:
    started: list[Runtime] = []
    yield started
    for rt in started:
        if rt.ready:
            await rt.stop()
    await drop_database(database_of(prefix))


async def held(rt: Runtime) -> int:
    return await rt.pool.fetchval("select count(*) from parked_events")


async def test_producer_v2_first_then_the_old_consumer_then_the_upgraded_one_applies_each_once(
    prefix: str, cleanup: list[Runtime], monkeypatch: pytest.MonkeyPatch
):
    old = dispatch_runtime(prefix)
    cleanup.append(old)
    await old.start()
    await add_engineer(old)
    tolerated, first, second = repair_requested(), repair_requested(), repair_requested()
    topic = prefix + INTAKE_EVENTS
    await produce(
        topic,
        [
            (tolerated.ticket_id.encode(), tolerated_v1_bytes(tolerated)),
            (first.ticket_id.encode(), v2_bytes(first)),
            (second.ticket_id.encode(), v2_bytes(second)),
        ],
    )

    # the old consumer: the v1 event with unknown fields applied, the v2 ones held, not lost
    await eventually(lambda: _equals(consumed(old, "dispatch.assignment"), 3))
    assert await assignments(old, tolerated.ticket_id) == 1
    assert await assignments(old, first.ticket_id) == 0
    assert await assignments(old, second.ticket_id) == 0
    assert await held(old) == 2
    assert await old.pool.fetchval("select count(*) from dead_letters") == 0
    _, checks = await readiness(old)
    assert checks["held_events"] == 2  # what the operator sees, with the alert in the log
    await old.stop()

    # the upgraded consumer knows version 2
    monkeypatch.setitem(registry.CURRENT, RepairRequested.event_type, RepairRequestedV2)
    monkeypatch.setitem(registry.UPCASTERS, (RepairRequested.event_type, 1), _v1_to_v2)
    upgraded = dispatch_runtime(prefix)
    cleanup.append(upgraded)
    await upgraded.start()

    assert await assignments(upgraded, first.ticket_id) == 1
    assert await assignments(upgraded, second.ticket_id) == 1
    assert await held(upgraded) == 0
    # a redelivery after the upgrade changes nothing
    await produce(topic, [(first.ticket_id.encode(), v2_bytes(first))])
    await eventually(lambda: _equals(consumed(upgraded, "dispatch.assignment"), 4))
    assert await assignments(upgraded, first.ticket_id) == 1
    assert await assignments(upgraded, tolerated.ticket_id) == 1


async def test_a_new_reaction_starts_from_now_and_a_projection_from_the_beginning(
    prefix: str, cleanup: list[Runtime]
):
    history = repair_requested()
    await produce(
        prefix + INTAKE_EVENTS,
        [(history.ticket_id.encode(), envelope_bytes(history)), (b"x", b"old garbage")],
    )
    await produce(prefix + "repairline.dispatch.events", [(b"x", b"old garbage")])
    rt = dispatch_runtime(prefix)
    cleanup.append(rt)
    await rt.start()
    await add_engineer(rt)
    fresh = repair_requested()
    await produce(prefix + INTAKE_EVENTS, [(fresh.ticket_id.encode(), envelope_bytes(fresh))])

    await eventually(lambda: _equals(assignments(rt, fresh.ticket_id), 1))
    # the projection (the dispatch board) read the old garbage from offset 0 ...
    await eventually(lambda: _dead_for(rt, "dispatch.board"))
    # ... the reaction never saw what came before it started: no assignment, no dead letter
    assert await assignments(rt, history.ticket_id) == 0
    assert not await _dead_for(rt, "dispatch.assignment")


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "preferred_language": None}


async def _dead_for(rt: Runtime, consumer: str) -> int:
    return await rt.pool.fetchval("select count(*) from dead_letters where consumer = $1", consumer)


async def _equals(awaitable: Any, expected: Any) -> bool:
    return (await awaitable) == expected


async def test_a_reaction_that_consumed_before_start_positions_existed_misses_nothing(
    prefix: str, cleanup: list[Runtime]
):
    rt = dispatch_runtime(prefix)
    cleanup.append(rt)
    await rt.open_storage()  # the database as the previous version left it
    await rt.pool.execute(
        "insert into consumer_offsets values ('dispatch.assignment', $1, 99, 0)",
        prefix + INTAKE_EVENTS,
    )
    await add_engineer(rt)
    waiting = repair_requested()  # published while the old version was being replaced
    await produce(prefix + INTAKE_EVENTS, [(waiting.ticket_id.encode(), envelope_bytes(waiting))])
    await rt.pool.close()

    upgraded = dispatch_runtime(prefix)
    cleanup.append(upgraded)
    await upgraded.start()

    await eventually(lambda: _equals(assignments(upgraded, waiting.ticket_id), 1))
