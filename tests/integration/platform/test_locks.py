"""`lock_in_order`: every name's advisory lock, held to the end of the transaction."""

from __future__ import annotations

from repairline_platform.db import advisory_key, advisory_key_sql, lock_in_order
from tests.support.system import connect


async def _free(conn, scope: str, names: list[str]) -> list[bool]:
    """Whether another session could take each lock now (taken and given back at once)."""
    taken = []
    for name in names:
        key = advisory_key(f"{scope}:{name}")
        got = await conn.fetchval("select pg_try_advisory_lock($1)", key)
        if got:
            await conn.execute("select pg_advisory_unlock($1)", key)
        taken.append(got)
    return taken


async def test_every_named_lock_is_held_until_the_transaction_ends():
    holder, other = await connect("postgres"), await connect("postgres")
    names = ["eng-3", "eng-1", "eng-2", "eng-1"]  # out of order, one twice
    try:
        async with holder.transaction():
            await lock_in_order(holder, "engineer", names)
            assert await _free(other, "engineer", ["eng-1", "eng-2", "eng-3"]) == [False] * 3
            assert await _free(other, "engineer", ["eng-4"]) == [True]
            assert await _free(other, "unit", ["eng-1"]) == [True]  # another scope
        assert await _free(other, "engineer", ["eng-1", "eng-2", "eng-3"]) == [True] * 3
    finally:
        await holder.close()
        await other.close()


async def test_one_name_and_no_name():
    holder, other = await connect("postgres"), await connect("postgres")
    try:
        async with holder.transaction():
            await lock_in_order(holder, "engineer", [])
            await lock_in_order(holder, "engineer", ["solo"])
            assert await _free(other, "engineer", ["solo"]) == [False]
        assert await _free(other, "engineer", ["solo"]) == [True]
    finally:
        await holder.close()
        await other.close()


async def test_postgresql_computes_the_same_keys():
    """A statement that finds the names can lock them: the keys match `advisory_key`."""
    conn = await connect("postgres")
    names = [f"eng-{n}" for n in range(20)] + ["工程师-7", "x" * 200]
    keys = [advisory_key(f"engineer:{n}") for n in names]
    assert min(keys) < 0 < max(keys)  # both signs: the 64 bits read as a signed number
    try:
        computed = await conn.fetch(
            "select n, " + advisory_key_sql("engineer", "n") + " as key"
            " from unnest($1::text[]) as n",
            names,
        )
    finally:
        await conn.close()
    assert {r["n"]: r["key"] for r in computed} == {n: advisory_key(f"engineer:{n}") for n in names}
