"""A batch's statements written in bulk (`readmodel.Writes`) leave the same rows as the
same statements run one at a time, on the real database: each key's statements keep
their order, whatever the merges (first value kept, latest wins, greatest, counters)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from repairline_platform.readmodel import Writes, upsert_sql
from tests.integration.platform.conftest import Platform

MERGES: tuple[dict[str, str], ...] = (
    {},  # every column keeps its first value
    {"note": "excluded.note"},  # the latest note wins
    {"level": "greatest(t.level, excluded.level)", "note": "excluded.note"},
)
BUMP = "update folded set bumps = bumps + 1, note = note || '+' where k = $1"


def statements(seed: int) -> list[tuple[str, Any]]:
    """Upserts and updates of a few keys, interleaved, in an order that matters: a
    key's latest note and its bump count depend on which statement ran last."""
    draw = random.Random(seed)
    out: list[tuple[str, Any]] = []
    for n in range(400):
        key = f"k{draw.randrange(12)}"
        if draw.random() < 0.2:
            out.append(("bump", key))
            continue
        row = {"k": key, "level": draw.randrange(100), "note": f"n{n}"}
        if draw.random() < 0.5:
            row["first_seen"] = n
        out.append(("upsert", (row, draw.choice(MERGES))))
    return out


async def _table(platform: Platform) -> list[tuple[Any, ...]]:
    rows = await platform.pool.fetch("select * from folded order by k")
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_writes_in_bulk_leave_the_rows_one_statement_at_a_time_leaves(
    platform: Platform, seed: int
):
    await platform.pool.execute(
        "create table if not exists folded (k text primary key, level int, note text,"
        " first_seen int, bumps int not null default 0)"
    )
    script = statements(seed)

    await platform.pool.execute("truncate table folded")
    async with platform.pool.acquire() as conn, conn.transaction():
        for kind, args in script:
            if kind == "bump":
                await conn.execute(BUMP, args)
            else:
                row, merge = args
                await conn.execute(upsert_sql("folded", "k", list(row), merge), *row.values())
    one_by_one = await _table(platform)

    await platform.pool.execute("truncate table folded")
    async with platform.pool.acquire() as conn, conn.transaction():
        writes = Writes()
        for kind, args in script:
            if kind == "bump":
                writes.add(("folded", args), BUMP, args)
            else:
                writes.upsert("folded", "k", args[0], args[1])
        await writes.run(conn)
    in_bulk = await _table(platform)

    assert in_bulk == one_by_one
    assert sum(r[4] for r in in_bulk) == _bumps_after_a_row(script)
    assert len(in_bulk) == 12


def _bumps_after_a_row(script: list[tuple[str, Any]]) -> int:
    """Bumps of a key that has a row by then (an update of no row changes nothing)."""
    seen: set[str] = set()
    bumps = 0
    for kind, args in script:
        if kind == "bump":
            bumps += args in seen
        else:
            seen.add(args[0]["k"])
    return bumps


async def test_writes_send_one_executemany_per_statement_and_wave(platform: Platform):
    await platform.pool.execute(
        "create table if not exists folded (k text primary key, level int, note text,"
        " first_seen int, bumps int not null default 0)"
    )
    await platform.pool.execute("truncate table folded")
    calls: list[tuple[str, int]] = []
    async with platform.pool.acquire() as conn, conn.transaction():

        class Counting:
            async def executemany(self, sql: str, args: list[tuple[Any, ...]]) -> None:
                calls.append((sql, len(args)))
                await conn.executemany(sql, args)

        writes = Writes()
        for n in range(300):  # 100 keys, three statements each
            key = f"k{n % 100}"
            writes.upsert("folded", "k", {"k": key, "note": f"n{n}"}, {"note": "excluded.note"})
        await writes.run(Counting())
    assert [count for _, count in calls] == [100, 100, 100]
    notes = {r["k"]: r["note"] for r in await platform.pool.fetch("select k, note from folded")}
    assert notes["k7"] == "n207" and len(notes) == 100
