"""Billing HTTP API."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter

from repairline_platform.http import NotFound
from repairline_platform.runtime import Runtime


def routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["billing"])

    @router.get("/tickets/{ticket_id}/charge")
    async def charge(ticket_id: str) -> dict[str, Any]:
        """The charge assessed for a completed repair, itemised, with the rules that decided it."""
        row = await rt.pool.fetchrow("select * from charges where ticket_id = $1", ticket_id)
        if row is None:
            raise NotFound(f"no charge assessed for ticket {ticket_id}")
        return {
            "ticket_id": row["ticket_id"],
            "total_fen": row["total_fen"],
            "currency": row["currency"],
            "lines": json.loads(row["lines"]),
            "inputs": json.loads(row["inputs"]),
            "decision": json.loads(row["decision"]),
            "assessed_at": row["assessed_at"].isoformat(),
            "event_id": row["event_id"],
        }

    return router
