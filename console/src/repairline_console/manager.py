"""The network manager's charts: the month's callbacks per region, outlet or engineer
(FBK-7), drawn as satisfaction grades and callback coverage, with the month and the
grouping chosen on the page. The figures are feedback's report, read with the
manager's own token."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from repairline_console.web import User, backend_of, refusal, render, settings_of

router = APIRouter()

GROUPINGS = ("region", "outlet", "engineer")
SERIES = ("satisfied", "average", "dissatisfied")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def chart(rows: list[dict[str, Any]], by: str) -> dict[str, Any]:
    """What the page draws: one label per group; the grades stacked, and the callbacks
    due beside those that reached the customer."""
    labels = [str(r.get(by) or "—") for r in rows]
    return {
        "labels": labels,
        "grades": {g: [int(r.get(g) or 0) for r in rows] for g in SERIES},
        "due": [int(r.get("callbacks_due") or 0) for r in rows],
        "valid": [int(r.get("valid_callbacks") or 0) for r in rows],
        "complaints": [int(r.get("complaints_filed") or 0) for r in rows],
    }


@router.get("/manager", response_class=HTMLResponse)
async def manager_page(
    request: Request, user: User, month: str | None = None, by: str = "region"
) -> HTMLResponse:
    zone = ZoneInfo(settings_of(request).console_timezone)
    chosen = month if month and MONTH.match(month) else datetime.now(zone).strftime("%Y-%m")
    grouping = by if by in GROUPINGS else "region"
    answer = await backend_of(request).get(
        user.token, "feedback", "/reports/callbacks", month=chosen, by=grouping
    )
    rows = answer.body.get("rows", []) if answer.ok else []
    return render(
        request,
        "manager.html",
        user,
        month=chosen,
        by=grouping,
        groupings=GROUPINGS,
        rows=rows,
        figures=chart(rows, grouping),
        problem=None if answer.ok else refusal(answer),
    )
