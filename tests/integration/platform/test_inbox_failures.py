"""Which failures are retried and which are dead-lettered, once, small, on the real database."""

from __future__ import annotations

import json

import asyncpg
import pytest

from repairline_contracts.topics import INTAKE_EVENTS
from repairline_platform.consumer import (
    MAX_ERROR_CHARS,
    InboxConsumer,
    Record,
    dead_letter_notice,
)
from repairline_platform.eventstore import ConcurrencyError
from tests.integration.platform.conftest import Platform, RecordingHandler
from tests.support.factories import repair_requested
from tests.support.system import envelope_bytes


def inbox(platform: Platform, handler: RecordingHandler) -> InboxConsumer:
    return InboxConsumer(
        handler, consumer_name="tests.recorder", unit_of_work=platform.unit_of_work
    )


def record(offset: int, value: bytes, key: bytes = b"k") -> Record:
    return Record(INTAKE_EVENTS, 0, offset, key, value)


async def dead_letters(platform: Platform) -> list[asyncpg.Record]:
    return await platform.pool.fetch("select * from dead_letters order by origin_offset")


async def next_offset(platform: Platform) -> int | None:
    return await platform.pool.fetchval(
        "select next_offset from consumer_offsets where consumer = 'tests.recorder'"
    )


@pytest.mark.parametrize(
    "transient",
    [
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        ConcurrencyError("stream moved"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    ],
    ids=["deadlock", "serialization", "lock-timeout", "statement-timeout", "concurrency", "lost"],
)
async def test_a_transient_failure_is_retried_never_dead_lettered(
    platform: Platform, transient: Exception
):
    handler = RecordingHandler()
    consumer = inbox(platform, handler)
    event = envelope_bytes(repair_requested())
    batch = [record(0, b"not json at all"), record(1, event)]
    handler.failures = [transient, transient]

    for _ in range(2):  # the broker redelivers the batch after each failure
        with pytest.raises(type(transient)):
            await consumer.process(batch)
        assert await dead_letters(platform) == []
        assert await next_offset(platform) is None
    result = await consumer.process(batch)

    assert result.applied == 1
    assert len(await platform.applied()) == 1
    # the unreadable record of a batch retried three times: one dead letter
    [letter] = await dead_letters(platform)
    assert letter["origin_offset"] == 0
    assert await next_offset(platform) == 2


async def test_a_programming_error_from_the_driver_is_dead_lettered_not_retried_forever(
    platform: Platform,
):
    handler = RecordingHandler()
    handler.failures = [asyncpg.exceptions.InterfaceError("another operation is in progress")] * 2
    event = envelope_bytes(repair_requested())

    result = await inbox(platform, handler).process([record(0, event)])

    assert result.dead == 1
    [letter] = await dead_letters(platform)
    assert "InterfaceError" in letter["error"]
    assert await next_offset(platform) == 1


async def test_a_handler_refusal_dead_letters_that_event_once_and_the_rest_apply(
    platform: Platform,
):
    handler = RecordingHandler()
    refused, fine = repair_requested(), repair_requested()
    handler.refuse.add(refused.ticket_id)
    batch = [record(0, envelope_bytes(refused)), record(1, envelope_bytes(fine))]
    consumer = inbox(platform, handler)

    await consumer.process(batch)
    await consumer.process(batch)  # redelivered: neither applied nor dead-lettered again

    assert len(await platform.applied()) == 1
    [letter] = await dead_letters(platform)
    assert letter["origin_offset"] == 0
    assert letter["error"].startswith("handler failed: ValueError")


@pytest.mark.parametrize("size", [100 * 1024, 900 * 1024], ids=["100KB", "900KB"])
async def test_a_large_unreadable_message_makes_a_small_dead_letter(platform: Platform, size: int):
    valid = json.loads(envelope_bytes(repair_requested()))
    # required fields missing, unknown ones large: the old dead letter repeated it per error
    filler = "x" * (size // 40)
    data = {f"field_{i}": filler for i in range(36)} | {"ticket_id": 7}
    poison = json.dumps({**valid, "data": data}).encode()
    assert len(poison) >= size * 0.85

    await inbox(platform, RecordingHandler()).process([record(0, poison)])

    [letter] = await dead_letters(platform)
    assert bytes(letter["record_value"]) == poison  # the bytes, kept once
    assert letter["size_bytes"] == len(poison)
    assert len(letter["error"]) <= MAX_ERROR_CHARS
    assert filler[:100] not in letter["error"]
    assert letter["error"].endswith(" more")  # the first errors named, the rest counted
    _key, notice = dead_letter_notice(letter, "/tests", platform.clock.now())
    assert len(notice) < 8 * 1024
    body = json.loads(notice)
    assert body["data"]["origin"] == {"topic": INTAKE_EVENTS, "partition": 0, "offset": 0}
    assert body["data"]["payload_truncated"] is True
    assert body["data"]["size_bytes"] == len(poison)


async def test_personal_data_of_a_dead_lettered_event_stays_out_of_the_logs(
    platform: Platform, capsys: pytest.CaptureFixture[str]
):
    valid = json.loads(envelope_bytes(repair_requested()))
    valid["data"]["fault_description"] = ["not", "a", "string"]  # invalid, beside the customer
    await inbox(platform, RecordingHandler()).process([record(0, json.dumps(valid).encode())])

    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "message dead-lettered" in text
    for secret in ("13900000000", "1 Test Road", "Test Customer"):
        assert secret not in text


async def test_a_handler_error_quoting_the_customer_is_dead_lettered_without_phone_or_address(
    platform: Platform, capsys: pytest.CaptureFixture[str]
):
    handler = RecordingHandler()
    quoting = "invalid input for query argument $2: '13900000000' (1 Test Road, Test Customer)"
    handler.failures += [asyncpg.exceptions.DataError(quoting) for _ in range(2)]
    await inbox(platform, handler).process([record(0, envelope_bytes(repair_requested()))])

    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "message dead-lettered" in text
    [letter] = await dead_letters(platform)
    notice = dead_letter_notice(letter, "/tests", letter["dead_at"])[1].decode()
    assert letter["error"].startswith("handler failed: DataError: invalid input")
    for secret in ("13900000000", "1 Test Road", "Test Customer"):
        assert secret not in text
        assert secret not in letter["error"]
        assert secret not in notice  # its error and its excerpt of the record
