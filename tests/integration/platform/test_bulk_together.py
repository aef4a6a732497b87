"""Several tables' rows in one statement (`insert_together`) end as `insert_rows` leaves
them, table by table: conflicts, NULLs, JSON and times alike, a live batch or a replay's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from repairline_platform.bulk import Rows, insert_rows, insert_together
from tests.support.system import scratch_database

T0 = datetime(2026, 9, 30, 8, tzinfo=UTC)

TABLES = """
create table {p}_log (event_id text primary key, ticket_id text not null, at timestamptz,
    summary jsonb);
create table {p}_latest (ticket_id text primary key, status text, version integer,
    total_fen bigint, at timestamptz);
"""
LOG_TYPES = ("text", "text", "timestamptz", "jsonb")
LATEST_TYPES = ("text", "text", "integer", "bigint", "timestamptz")
LATER = """on conflict (ticket_id) do update set status = excluded.status,
    version = excluded.version, total_fen = coalesce(excluded.total_fen, l.total_fen),
    at = excluded.at where excluded.version > l.version"""


def batch(first: int, n: int) -> tuple[list[tuple], list[tuple]]:
    log = [
        (f"ev-{k}", f"t-{k % 7}", T0 + timedelta(minutes=k), json.dumps({"k": k, "n": None}))
        for k in range(first, first + n)
    ]
    latest = {}
    for k in range(first, first + n):  # one row per ticket, as a batch folds them
        total = None if k % 3 else k * 100
        latest[f"t-{k % 7}"] = (f"t-{k % 7}", f"s{k}", k, total, T0 + timedelta(minutes=k))
    return log, list(latest.values())


async def contents(conn, prefix: str) -> tuple[list, list]:
    return (
        [tuple(r) for r in await conn.fetch(f"select * from {prefix}_log order by 1")],
        [tuple(r) for r in await conn.fetch(f"select * from {prefix}_latest order by 1")],
    )


@pytest.mark.parametrize("size", [5, 80], ids=["a live batch", "a replay batch"])
async def test_rows_written_together_equal_rows_written_table_by_table(size: int):
    async with scratch_database("together") as pool, pool.acquire() as conn:
        for prefix in ("one", "each"):
            await conn.execute(TABLES.format(p=prefix))
        # the second batch repeats events (nothing) and moves some tickets on (or not)
        for first in (0, size // 2, size):
            log, latest = batch(first, size)
            async with conn.transaction():
                await insert_together(
                    conn,
                    [
                        Rows("one_log", log, LOG_TYPES),
                        Rows("one_latest", latest, LATEST_TYPES, LATER, alias="l"),
                    ],
                )
                await insert_rows(conn, "each_log", log)
                await insert_rows(conn, "each_latest", latest, conflict=LATER, alias="l")
        together, table_by_table = await contents(conn, "one"), await contents(conn, "each")
    assert together == table_by_table
    log_rows, latest_rows = together
    assert len(log_rows) == size * 2
    assert {r[0] for r in latest_rows} == {f"t-{k}" for k in range(7)}
    assert json.loads(log_rows[0][3]) == {"k": 0, "n": None}


async def test_named_columns_and_an_empty_part():
    async with scratch_database("together_columns") as pool, pool.acquire() as conn:
        await conn.execute(TABLES.format(p="one"))
        await insert_together(
            conn,
            [
                Rows("one_log", [], LOG_TYPES),
                Rows(
                    "one_latest",
                    [("t-1", "requested")],
                    ("text", "text"),
                    columns=("ticket_id", "status"),
                ),
            ],
        )
        await insert_together(
            conn,
            [
                Rows("one_log", [("ev-1", "t-1", None, None)], LOG_TYPES),
                Rows(
                    "one_latest",
                    [("t-2", "assigned")],
                    ("text", "text"),
                    columns=("ticket_id", "status"),
                ),
            ],
        )
        log, latest = await contents(conn, "one")
    assert log == [("ev-1", "t-1", None, None)]
    assert [(r[0], r[1]) for r in latest] == [("t-1", "requested"), ("t-2", "assigned")]
