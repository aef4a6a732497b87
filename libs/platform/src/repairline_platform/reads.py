"""What every service's views share: the read connection, a row found or a 404, and
JSON columns as values."""

from __future__ import annotations

import json
from typing import Any, Protocol

from repairline_rules.refusals import NotFound


class Db(Protocol):
    """A pool or a connection: what the views read with."""

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...

    async def fetchrow(self, query: str, *args: Any) -> Any: ...


async def fetch_one(db: Db, missing: str, query: str, *args: Any) -> Any:
    """The row `query` finds; `NotFound` (a 404) saying `missing` when there is none."""
    row = await db.fetchrow(query, *args)
    if row is None:
        raise NotFound(missing)
    return row


def json_value(value: Any) -> Any:
    """A JSON column as a value: the driver may hand it over as text."""
    return json.loads(value) if isinstance(value, str) else value
