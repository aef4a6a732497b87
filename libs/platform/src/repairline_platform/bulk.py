"""Rows of a batch written in bulk: binary COPY into a staging table, then one merge.

asyncpg's `copy_records_to_table` is an order of magnitude faster than `executemany` for
thousands of rows (a replay's batches); a few rows (a live batch) go by `executemany`,
which costs fewer round trips. Both end in the same `insert ... on conflict`, so a table
holds the same rows whichever way its batch came.
"""

from __future__ import annotations

from collections.abc import Sequence
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
