"""Feedback HTTP API."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Query

from repairline_platform.runtime import Runtime


def routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["feedback"])

    @router.get("/callbacks")
    async def callbacks(
        status: Literal["due", "scheduled", "all"] = Query(default="due"),
        ticket_id: str | None = Query(default=None),
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        """Callbacks on the list; by default those due now, oldest first."""
        rows = await rt.pool.fetch(
            "select * from callbacks where ($1 = 'all' or status = $1)"
            " and ($2::text is null or ticket_id = $2) order by due_at limit $3",
            status,
            ticket_id,
            limit,
        )
        return [
            {
                "callback_id": r["callback_id"],
                "ticket_id": r["ticket_id"],
                "reason": r["reason"],
                "status": r["status"],
                "due_at": r["due_at"].isoformat(),
                "fired_at": r["fired_at"].isoformat() if r["fired_at"] else None,
                "decision": json.loads(r["decision"]) if r["decision"] else None,
            }
            for r in rows
        ]

    return router
