"""What every service's projections share: a row folded from events that may arrive in
any order (`upsert`), and a ledger that writes one row per event, once (`Ledger`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from repairline_platform.bulk import insert_rows
from repairline_platform.eventstore import Delivered, UnitOfWork

RANKED_STATUS = {
    "status": "case when excluded.status_rank > t.status_rank"
    " then excluded.status else t.status end",
    "status_rank": "greatest(t.status_rank, excluded.status_rank)",
}
"""`upsert` merges for a row whose status only moves to a higher `status_rank`."""


async def upsert(
    conn: Any,
    table: str,
    key: str,
    row: Mapping[str, Any],
    merge: Mapping[str, str] = {},
    *,
    jsonb: Collection[str] = (),
) -> None:
    """Insert the row or fold it into the one there: a column keeps its first value
    (`coalesce`) unless `merge` says how the two combine; `jsonb` columns come as text."""
    cols = list(row)
    values = ", ".join(f"${i}::jsonb" if c in jsonb else f"${i}" for i, c in enumerate(cols, 1))
    updates = ", ".join(
        f"{c} = {merge.get(c, f'coalesce(t.{c}, excluded.{c})')}" for c in cols if c != key
    )
    conflict = f"({key}) do update set {updates}" if updates else "do nothing"
    await conn.execute(
        f"insert into {table} as t ({', '.join(cols)}) values ({values}) on conflict {conflict}",
        *row.values(),
    )


class Ledger:
    """A projection of one row per event, written once. A subclass names its topics,
    events and table (the first of `tables`) and says how an event becomes a row."""

    name: str
    topics: tuple[str, ...]
    event_types: frozenset[str]
    tables: tuple[str, ...]

    def row(self, event: Any, event_id: str) -> tuple[Any, ...]:
        raise NotImplementedError

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = [self.row(item.event, item.envelope.id) for item in items]
        await insert_rows(uow.conn, self.tables[0], rows)
