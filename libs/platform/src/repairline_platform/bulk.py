"""Rows of a batch written in bulk: binary COPY into a staging table, then one merge.

asyncpg's `copy_records_to_table` is an order of magnitude faster than `executemany` for
thousands of rows (a replay's batches); a few rows (a live batch) go by `executemany`,
which costs fewer round trips. Both end in the same `insert ... on conflict`, so a table
holds the same rows whichever way its batch came. `insert_together` writes a few rows
into several tables in one statement: one round trip where `insert_rows` takes one per
table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

COPY_FROM = 64  # rows in a batch from which a staging copy is cheaper than executemany


async def insert_rows(
    conn: Any,
    table: str,
    rows: Sequence[Sequence[Any]],
    *,
    conflict: str = "on conflict do nothing",
    columns: Sequence[str] = (),
    alias: str = "t",
) -> None:
    """Insert rows (of `columns`, or of every column of `table` in order), `conflict`
    deciding what happens to a row whose key is there already (`alias` names the row
    there; a batch must not hold one key twice when `conflict` updates)."""
    if not rows:
        return
    names = f" ({', '.join(columns)})" if columns else ""
    if len(rows) < COPY_FROM or not conn.is_in_transaction():  # the stage empties at commit
        marks = ", ".join(f"${n}" for n in range(1, len(rows[0]) + 1))
        await conn.executemany(
            f"insert into {table} as {alias}{names} values ({marks}) {conflict}", rows
        )
        return
    stage = f"stage_{table}"
    await conn.execute(
        f"create temporary table if not exists {stage} (like {table} including defaults)"
        " on commit delete rows"
    )
    await conn.copy_records_to_table(stage, records=rows, columns=list(columns) or None)
    picked = ", ".join(columns) if columns else "*"
    await conn.execute(
        f"insert into {table} as {alias}{names} select {picked} from {stage} {conflict}"
    )
    # emptied at once, not at commit: a second call in the same transaction must not
    # merge these rows again
    await conn.execute(f"truncate {stage}")


@dataclass(frozen=True)
class Rows:
    """Rows for one table of `insert_together`, as `insert_rows` takes them, with the
    SQL type of each column written (`types`, in the rows' order; no array types)."""

    table: str
    rows: Sequence[Sequence[Any]]
    types: Sequence[str]
    conflict: str = "on conflict do nothing"
    columns: Sequence[str] = ()
    alias: str = "t"


async def insert_together(conn: Any, parts: Sequence[Rows]) -> None:
    """Insert each part's rows as `insert_rows` would; the parts of a live batch in one
    statement, each column passed as one array and unnested: one round trip and one
    execution instead of an `executemany` per table. A replay's batches go by
    `insert_rows` (binary COPY)."""
    parts = [p for p in parts if p.rows]
    bulky = any(len(p.rows) >= COPY_FROM for p in parts) and conn.is_in_transaction()
    if len(parts) <= 1 or bulky:
        for p in parts:
            await insert_rows(
                conn, p.table, p.rows, conflict=p.conflict, columns=p.columns, alias=p.alias
            )
        return
    args: list[list[Any]] = []
    inserts = []
    for p in parts:
        arrays = []
        for n, type_ in enumerate(p.types):
            args.append([row[n] for row in p.rows])
            arrays.append(f"${len(args)}::{type_}[]")
        names = f" ({', '.join(p.columns)})" if p.columns else ""
        inserts.append(
            f"insert into {p.table} as {p.alias}{names}"
            f" select * from unnest({', '.join(arrays)}) {p.conflict}"
        )
    *first, last = inserts
    ahead = ", ".join(f"w{n} as ({sql})" for n, sql in enumerate(first))
    await conn.execute(f"with {ahead} {last}", *args)
