"""The reads a feedback decision needs beyond its own stream, behind a small protocol.

They come from feedback's own trimmed copy of the other contexts' facts (the `served`
projection) and from the callback list; unit tests fake them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from repairline_feedback.domain.followup import ServedTicket
from repairline_platform.policy import Policy, policy_of


class Store(Protocol):
    async def served(self, uow: Any, ticket_id: str) -> ServedTicket | None:
        """What feedback knows of a ticket served: region, engineer, outlet, unit."""
        ...

    async def policy(self, uow: Any, ticket_id: str) -> Policy | None:
        """The pack and version the ticket was opened under (None until its request)."""
        ...

    async def ticket_of_callback(self, uow: Any, callback_id: str) -> str | None:
        """The ticket whose stream holds the callback."""
        ...

    async def served_between(self, uow: Any, start: datetime, end: datetime) -> list[str]:
        """Tickets whose repair was completed in [start, end)."""
        ...


class PostgresStore:
    """The store on the service's own database, in the command's transaction."""

    async def served(self, uow: Any, ticket_id: str) -> ServedTicket | None:
        row = await uow.conn.fetchrow(
            "select ticket_id, region, engineer_id,"
            " coalesce(service_point_id, outlet_id) as outlet_id,"
            " product_line, purchase_date, serial_no, warranty_start, warranty_source,"
            " coalesce(days_paused, 0) as days_paused from served where ticket_id = $1",
            ticket_id,
        )
        return ServedTicket(**dict(row)) if row else None

    async def policy(self, uow: Any, ticket_id: str) -> Policy | None:
        row = await uow.conn.fetchrow(
            "select policy_pack, policy_version from served where ticket_id = $1", ticket_id
        )
        return policy_of(row["policy_pack"], row["policy_version"]) if row else None

    async def ticket_of_callback(self, uow: Any, callback_id: str) -> str | None:
        return await uow.conn.fetchval(
            "select ticket_id from callbacks where callback_id = $1", callback_id
        )

    async def served_between(self, uow: Any, start: datetime, end: datetime) -> list[str]:
        rows = await uow.conn.fetch(
            "select ticket_id from served where completed_at >= $1 and completed_at < $2",
            start,
            end,
        )
        return [r["ticket_id"] for r in rows]
