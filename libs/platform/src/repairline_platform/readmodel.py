"""What every service's projections share: a batch's statements written in bulk, rows
folded from events that may arrive in any order among them (`Writes`, `upsert_sql`), a
ledger that writes one row per event, once (`Ledger`), and a jsonb column's text
(`jsonb`)."""

from __future__ import annotations

import functools
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

from pydantic_core import to_json

from repairline_platform.bulk import insert_rows
from repairline_platform.eventstore import Delivered, UnitOfWork


def jsonb(value: Any) -> str | None:
    """A jsonb column's text: a model, a tuple of models, a dict, as pydantic writes them
    in JSON mode (encoded in Rust: a replay writes hundreds of thousands); None stays
    NULL."""
    return None if value is None else to_json(value).decode()


RANKED_STATUS = {
    "status": "case when excluded.status_rank > t.status_rank"
    " then excluded.status else t.status end",
    "status_rank": "greatest(t.status_rank, excluded.status_rank)",
}
"""Upsert merges for a row whose status only moves to a higher `status_rank`."""


def upsert_sql(
    table: str,
    key: str,
    cols: Sequence[str],
    merge: Mapping[str, str] = {},
    jsonb: Collection[str] = (),
) -> str:
    """Insert a row of `cols` or fold it into the one there: a column keeps its first
    value (`coalesce`) unless `merge` says how the two combine; `jsonb` columns come as
    text."""
    return _upsert_sql(table, key, tuple(cols), tuple(merge.items()), tuple(jsonb))


@functools.lru_cache(maxsize=512)
def _upsert_sql(
    table: str,
    key: str,
    cols: tuple[str, ...],
    merge_items: tuple[tuple[str, str], ...],
    jsonb: tuple[str, ...],
) -> str:
    merge = dict(merge_items)
    values = ", ".join(f"${i}::jsonb" if c in jsonb else f"${i}" for i, c in enumerate(cols, 1))
    updates = ", ".join(
        f"{c} = {merge.get(c, f'coalesce(t.{c}, excluded.{c})')}" for c in cols if c != key
    )
    conflict = f"({key}) do update set {updates}" if updates else "do nothing"
    return f"insert into {table} as t ({', '.join(cols)}) values ({values}) on conflict {conflict}"


class Writes:
    """The statements a projection makes for one batch of events, written in bulk.

    Each statement is added with the key of the rows it writes (a ticket, a callback).
    `run` sends them by `executemany`, one call per statement text and wave: a key's
    n-th statement is in the n-th wave, so every key's rows see its statements in the
    order they were added, as one statement per event would, while the statements of
    many keys travel together (a replay's batch of thousands of events takes tens of
    round trips instead of thousands). A statement must write only its key's rows, and
    read none that another key's statements in the same batch write.
    """

    __slots__ = ("_depth", "_waves")

    def __init__(self) -> None:
        self._depth: dict[Hashable, int] = {}
        self._waves: list[dict[str, list[tuple[Any, ...]]]] = []

    def add(self, key: Hashable, sql: str, *args: Any) -> None:
        wave = self._depth.get(key, 0)
        self._depth[key] = wave + 1
        if wave == len(self._waves):
            self._waves.append({})
        self._waves[wave].setdefault(sql, []).append(args)

    def upsert(
        self,
        table: str,
        key: str,
        row: Mapping[str, Any],
        merge: Mapping[str, str] = {},
        *,
        jsonb: Collection[str] = (),
    ) -> None:
        """Fold `row` into `table` (`upsert_sql`), keyed by the row's `key`."""
        self.add((table, row[key]), upsert_sql(table, key, list(row), merge, jsonb), *row.values())

    async def run(self, conn: Any) -> None:
        for wave in self._waves:
            for sql, args in wave.items():
                await conn.executemany(sql, args)
        self._depth.clear()
        self._waves.clear()


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
