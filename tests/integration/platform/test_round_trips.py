"""Round trips the platform no longer pays for, and the guarantees that stay without them.

A pooled connection goes back to the pool without a reset query unless it holds session
state; an append is one atomic statement inside its unit, without a savepoint of its own;
a new stream is appended without being loaded first."""

from __future__ import annotations

import asyncpg
import pytest

from repairline_platform import commands
from repairline_platform.db import advisory_key
from repairline_platform.eventstore import ConcurrencyError
from tests.integration.platform.conftest import Platform, new_id
from tests.support.factories import repair_requested

NEW = commands.Stream("ticket", lambda _id, events: len(events))


class Queries:
    """The statements one connection sends, as asyncpg's query logger sees them."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, record: asyncpg.connection.LoggedQuery) -> None:
        self.sent.append(record.query)


async def _held_by_anyone(pool: asyncpg.Pool, key: int) -> bool:
    return bool(
        await pool.fetchval(
            "select exists (select 1 from pg_locks where locktype = 'advisory' and granted"
            " and ((classid::bigint << 32) | objid::bigint) = $1)",
            key,
        )
    )


async def test_a_connection_without_session_state_is_released_without_a_query(
    platform: Platform,
):
    queries = Queries()
    async with platform.pool.acquire() as conn:
        raw = conn._con  # the connection behind the pool's proxy: it outlives the proxy
        async with conn.transaction():
            await conn.execute("select pg_advisory_xact_lock($1)", advisory_key("t:a"))
            await conn.execute("set local statement_timeout = 1234")
        raw.add_query_logger(queries)
    assert queries.sent == []  # nothing sent on release
    raw.remove_query_logger(queries)
    assert not await _held_by_anyone(platform.pool, advisory_key("t:a"))
    async with platform.pool.acquire() as conn:
        assert await conn.fetchval("show statement_timeout") != "1234ms"


async def test_a_connection_holding_a_session_lock_is_reset_in_full_on_release(
    platform: Platform,
):
    key = advisory_key(f"t:{new_id()}")
    queries = Queries()
    async with platform.pool.acquire() as conn:
        raw = conn._con
        conn.hold_session_state()
        assert await conn.fetchval("select pg_try_advisory_lock($1)", key)
        raw.add_query_logger(queries)
    raw.remove_query_logger(queries)
    assert any("pg_advisory_unlock_all" in q for q in queries.sent)
    assert not await _held_by_anyone(platform.pool, key)
    assert raw.get_reset_query() == ""  # its next release sends nothing again


async def test_an_open_transaction_is_rolled_back_on_release(platform: Platform):
    await platform.pool.execute("create table if not exists scratch (k text primary key)")
    async with platform.pool.acquire() as conn:
        await conn.execute("begin")
        await conn.execute("insert into scratch values ('left open')")
    assert await platform.pool.fetchval("select count(*) from scratch") == 0


async def test_creating_a_stream_that_exists_is_a_concurrency_error_and_writes_nothing(
    platform: Platform,
):
    stream_id = new_id()
    created = await commands.execute(
        platform.unit_of_work,
        NEW,
        stream_id,
        lambda n, uow: [repair_requested(stream_id)],
        create=True,
    )
    assert created.version == 1
    decided: list[int] = []

    def again(n: int, uow: object) -> list:
        decided.append(n)
        return [repair_requested(stream_id)]

    with pytest.raises(ConcurrencyError):
        await commands.execute(platform.unit_of_work, NEW, stream_id, again, create=True)
    assert decided and set(decided) == {0}  # a new stream is decided from nothing
    rows = await platform.pool.fetch(
        "select stream_version from events where stream_id = $1", stream_id
    )
    assert [r["stream_version"] for r in rows] == [1]


async def test_a_conflicting_append_rolls_back_the_whole_unit(platform: Platform):
    stream_id = new_id()
    async with platform.unit_of_work() as uow:
        await uow.append(
            stream_id, [repair_requested(stream_id)], correlation_id="c", causation_id="c"
        )
    with pytest.raises(ConcurrencyError):
        async with platform.unit_of_work() as uow:
            await uow.conn.execute("insert into applied values ('before the append')")
            await uow.append(
                stream_id,
                [repair_requested(stream_id)],
                expected_version=0,
                correlation_id="c",
                causation_id="c",
            )
    assert await platform.applied() == []
    assert (
        await platform.pool.fetchval("select count(*) from events where stream_id = $1", stream_id)
        == 1
    )


async def test_several_streams_load_in_one_query_each_as_it_loads_alone(platform: Platform):
    """A decision over a region's open tickets (the day plan's candidates) reads their
    streams at once: one query, each stream in order with its pack, an unknown one empty."""
    first, second, unknown = new_id(), new_id(), new_id()
    async with platform.unit_of_work() as uow:
        for stream_id, count in ((first, 2), (second, 1)):
            await uow.append(
                stream_id,
                [repair_requested(stream_id) for _ in range(count)],
                correlation_id="c",
                causation_id="c",
            )
    alone = {}
    async with platform.unit_of_work() as uow:
        for stream_id in (first, second, unknown):
            alone[stream_id] = (await uow.load_stream(stream_id), uow.stream_policy(stream_id))
    queries = Queries()
    async with platform.unit_of_work() as uow:
        uow.conn._con.add_query_logger(queries)
        together = await uow.load_streams([first, second, unknown])
        uow.conn._con.remove_query_logger(queries)
        policies = {s: uow.stream_policy(s) for s in (first, second, unknown)}
    assert len(queries.sent) == 1
    assert {s: (together[s], policies[s]) for s in together} == alone
    assert [len(together[s]) for s in (first, second, unknown)] == [2, 1, 0]
    assert policies[first] is not None and policies[unknown] is None
