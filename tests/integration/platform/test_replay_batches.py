"""A replay's batch path applies, holds and dead-letters what the live inbox does, without
the inbox's per-event ids, on the real database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg

from repairline_contracts.topics import INTAKE_EVENTS
from repairline_platform.bulk import COPY_FROM, insert_rows
from repairline_platform.consumer import InboxConsumer, Record
from repairline_platform.replaying import ReplayInbox, apply_all, peek_type
from tests.integration.platform.conftest import Platform, RecordingHandler
from tests.support.factories import repair_requested
from tests.support.system import envelope_bytes


def record(offset: int, value: bytes | None) -> Record:
    return Record(INTAKE_EVENTS, offset % 2, offset, b"k", value)


def history() -> list[Record]:
    """Every way a record can go: applied, ignored, held, dead-lettered."""
    valid = [envelope_bytes(repair_requested()) for _ in range(4)]
    envelope = json.loads(valid[0])
    other_type = {**envelope, "type": "repairline.intake.SaleRecorded", "data": {"bad": 1}}
    unknown = {**envelope, "type": "repairline.intake.NoSuchEvent"}
    no_schema = {**envelope, "data": {**envelope["data"], "ticket_id": 7}}
    newer = {**json.loads(valid[2]), "id": "newer", "schemaversion": 99}
    values = [
        valid[0],
        b"not json at all",
        json.dumps(unknown).encode(),
        json.dumps(other_type).encode(),  # a type the handler does not read, not its schema
        json.dumps(no_schema).encode(),
        json.dumps(newer).encode(),  # held, and the later event of its stream too
        valid[2],
        None,  # a tombstone
        valid[3],
    ]
    return [record(n, v) for n, v in enumerate(values)]


async def batches(records: Sequence[Record], size: int) -> AsyncIterator[list[Record]]:
    for start in range(0, len(records), size):
        yield list(records[start : start + size])


async def outcome(pool: asyncpg.Pool, consumer: str) -> dict[str, object]:
    async def rows(sql: str) -> list[tuple[object, ...]]:
        return [tuple(r) for r in await pool.fetch(sql, consumer)]

    return {
        "dead": await rows(
            "select origin_partition, origin_offset, error from dead_letters"
            " where consumer = $1 order by origin_offset"
        ),
        "parked": await rows(
            "select origin_partition, origin_offset, reason from parked_events"
            " where consumer = $1 order by origin_offset"
        ),
        "offsets": await rows(
            "select topic, partition, next_offset from consumer_offsets"
            " where consumer = $1 order by partition"
        ),
    }


async def test_a_replay_applies_holds_and_dead_letters_what_the_live_inbox_does(
    platform: Platform,
):
    records = history()
    live_handler, replay_handler = RecordingHandler(), RecordingHandler()
    live = InboxConsumer(live_handler, consumer_name="live", unit_of_work=platform.unit_of_work)
    replay = ReplayInbox(replay_handler, consumer_name="replay", unit_of_work=platform.unit_of_work)

    for batch in [records[:4], records[4:]]:
        await live.process(batch)
    await platform.pool.execute("truncate table applied")
    events, applied = await apply_all(replay, batches(records, 3))

    assert events == len(records)
    assert applied == 2  # the held stream keeps its later event back
    assert sorted(await platform.applied()) == sorted(
        json.loads(records[n].value or b"")["id"] for n in (0, 8)
    )
    replayed, lived = await outcome(platform.pool, "replay"), await outcome(platform.pool, "live")
    assert replayed["parked"] == lived["parked"] and len(lived["parked"]) == 2  # type: ignore[arg-type]
    assert (
        replayed["offsets"]
        == lived["offsets"]
        == [
            (INTAKE_EVENTS, 0, 9),
            (INTAKE_EVENTS, 1, 8),
        ]
    )
    # the same dead letters, but for the known type the projection does not read: a
    # replay does not parse it (the live consumer judged it when it first read it)
    assert [row[1] for row in lived["dead"]] == [1, 2, 3, 4, 7]  # type: ignore[attr-defined]
    assert replayed["dead"] == [row for row in lived["dead"] if row[1] != 3]  # type: ignore[attr-defined]
    # the inbox's per-event ids are the live consumer's alone: a replay keeps only offsets
    ids = await platform.pool.fetch("select consumer from processed_events")
    assert {r["consumer"] for r in ids} == {"live"}


async def test_a_failing_batch_in_a_replay_is_applied_item_by_item_and_the_culprit_dead_lettered(
    platform: Platform,
):
    handler = RecordingHandler()
    refused, fine = repair_requested(), repair_requested()
    handler.refuse.add(refused.ticket_id)
    records = [record(0, envelope_bytes(refused)), record(1, envelope_bytes(fine))]
    replay = ReplayInbox(handler, consumer_name="replay", unit_of_work=platform.unit_of_work)

    events, applied = await apply_all(replay, batches(records, 2))

    assert (events, applied) == (2, 1)
    assert len(await platform.applied()) == 1
    [letter] = (await outcome(platform.pool, "replay"))["dead"]  # type: ignore[misc]
    assert letter[1] == 0 and str(letter[2]).startswith("handler failed: ValueError")


def test_the_type_is_read_from_the_bytes_of_an_envelope_and_nothing_else():
    value = envelope_bytes(repair_requested())
    assert peek_type(value) == "repairline.intake.RepairRequested"
    assert peek_type(None) is None
    assert peek_type(b"not json") is None
    assert peek_type(b'{"id": "x"}') is None
    assert peek_type(b'{"type": 7}') is None
    assert peek_type(b"[1, 2]") is None


async def test_rows_written_by_copy_or_one_by_one_give_the_same_table(platform: Platform):
    await platform.pool.execute(
        "create table ledger (id text primary key, n integer, detail jsonb, at timestamptz)"
    )
    at = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    rows = [(f"e{n % 150}", n, json.dumps({"n": n}), at) for n in range(200)]  # 50 repeats

    for size in (len(rows), COPY_FROM - 1):  # the staging copy, then executemany
        await platform.pool.execute("truncate table ledger")
        for start in range(0, len(rows), size):
            async with platform.pool.acquire() as conn, conn.transaction():
                await insert_rows(conn, "ledger", rows[start : start + size])
        written = await platform.pool.fetch("select id, n, detail, at from ledger order by n")
        # the first row of each key stays, whole: a repeat changes nothing
        assert [tuple(r) for r in written] == [(i, n, d, a) for i, n, d, a in rows[:150]]


async def test_two_staged_writes_to_one_table_in_one_transaction_merge_each_row_once(
    platform: Platform,
):
    await platform.pool.execute("create table counted (id text primary key, n integer)")
    first = [(f"k{n}", 1) for n in range(COPY_FROM)]
    second = [(f"k{n}", 1) for n in range(COPY_FROM // 2, COPY_FROM * 2)]
    async with platform.pool.acquire() as conn, conn.transaction():
        for rows in (first, second):  # both large enough to go through the staging copy
            await insert_rows(
                conn,
                "counted",
                rows,
                conflict="on conflict (id) do update set n = t.n + excluded.n",
            )
    counts = {r["id"]: r["n"] for r in await platform.pool.fetch("select id, n from counted")}
    overlap = {f"k{n}" for n in range(COPY_FROM // 2, COPY_FROM)}
    assert counts == {k: 2 if k in overlap else 1 for k in counts}
    assert len(counts) == COPY_FROM * 2
