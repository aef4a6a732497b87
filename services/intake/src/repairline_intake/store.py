"""What intake's decisions read beyond their own stream, and the numbers they count out.

`Store` is the port the commands use; `PostgresStore` reads the projections' tables (in
the command's own transaction) and keeps the two counters. Unit tests fake `Store`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from repairline_platform.db import advisory_key


class Store(Protocol):
    async def open_ticket_with_serial(self, serial_no: str) -> str | None:
        """The open ticket of this serial number, if any; until the command's unit ends,
        no other request for the same serial number gets past this question."""
        ...

    async def next_ticket_seq(self) -> int:
        """INT-2: the next ticket number, never given twice."""
        ...

    async def next_queue_place(self, day: str) -> int:
        """INT-7: the next place in the depot queue of a business day (1, 2, ...)."""
        ...

    async def sale_date(self, serial_no: str) -> date | None:
        """WAR-3: the maker's recorded sale date of this serial number."""
        ...

    async def repair_completed(self, ticket_id: str) -> bool:
        """Whether dispatch completed this ticket's repair (its RepairCompleted is seen)."""
        ...


class PostgresStore:
    """`Store` on a PostgreSQL unit of work: the ticket facts, the sales records, and the
    ticket sequence and depot queue counters (counters, not read models: never replayed).

    Once the serial number's lock is held, one statement answers whether it is on an
    open ticket and, when it is not, takes the ticket's number and reads the sale date:
    the new ticket asks for both next, without a round trip each."""

    def __init__(self, uow: Any) -> None:
        self.conn = uow.conn
        self._seq: int | None = None  # taken with the serial number's answer, not yet used
        self._sold_on: dict[str, date | None] = {}

    async def open_ticket_with_serial(self, serial_no: str) -> str | None:
        await self.conn.execute(
            "select pg_advisory_xact_lock($1)", advisory_key(f"serial:{serial_no}")
        )
        # a statement of its own after the lock: its snapshot sees every ticket committed
        # by whoever held the lock before
        row = await self.conn.fetchrow(
            "select d.ticket_id,"
            " case when d.ticket_id is null then nextval('ticket_numbers') end as seq,"
            " (select sold_on from sales_records where serial_no = $1) as sold_on"
            " from (select (select f.ticket_id from ticket_facts f where f.key = 'serial_no'"
            " and f.value = to_jsonb($1::text) and not exists (select 1 from"
            " ticket_facts c where c.ticket_id = f.ticket_id"
            " and c.key in ('closed', 'repair_completed')) limit 1) as ticket_id offset 0) d",
            serial_no,
        )
        if row["ticket_id"] is None:
            self._seq = row["seq"]
            self._sold_on[serial_no] = row["sold_on"]
        return row["ticket_id"]

    async def next_ticket_seq(self) -> int:
        if self._seq is not None:
            seq, self._seq = self._seq, None
            return seq
        return await self.conn.fetchval("select nextval('ticket_numbers')")

    async def next_queue_place(self, day: str) -> int:
        return await self.conn.fetchval(
            "insert into depot_queue (day, last_no) values ($1, 1)"
            " on conflict (day) do update set last_no = depot_queue.last_no + 1"
            " returning last_no",
            day,
        )

    async def sale_date(self, serial_no: str) -> date | None:
        if serial_no in self._sold_on:
            return self._sold_on[serial_no]
        return await self.conn.fetchval(
            "select sold_on from sales_records where serial_no = $1", serial_no
        )

    async def repair_completed(self, ticket_id: str) -> bool:
        found = await self.conn.fetchval(
            "select 1 from ticket_facts where ticket_id = $1 and key = 'repair_completed'",
            ticket_id,
        )
        return bool(found)
