"""The network manager's charts: the month's callbacks per region, outlet or engineer
(FBK-7), drawn as satisfaction grades and callback coverage; on-time visits and SLA
breaches per region and week (dispatch's report); complaints and fines per outlet
(feedback's report and billing's penalty ledger); with the month, the region and the
grouping chosen on the page. Every figure is read with the manager's own token."""

from __future__ import annotations

import asyncio
import calendar
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from repairline_console.backend import Answer
from repairline_console.web import Session, User, backend_of, refusal, render, settings_of
from repairline_platform.bounds import KNOWN_REGIONS

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


def month_days(month: str) -> tuple[date, date]:
    """The first and last day of a `YYYY-MM` month."""
    year, number = (int(x) for x in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def visits_chart(weeks: list[dict[str, Any]]) -> dict[str, Any]:
    """Dispatch's weeks as bars: on time and late visits stacked, the SLA breaches and
    missed appointments beside them; one label per region and week."""
    return {
        "labels": [f"{w['region']} {str(w['week'])[5:]}" for w in weeks],
        "on_time": [int(w.get("on_time") or 0) for w in weeks],
        "late": [int(w.get("visits") or 0) - int(w.get("on_time") or 0) for w in weeks],
        "sla_breaches": [int(w.get("sla_breaches") or 0) for w in weeks],
        "missed": [int(w.get("missed") or 0) for w in weeks],
    }


def outlets_chart(
    outlet_rows: list[dict[str, Any]], penalties: list[dict[str, Any]], month: str
) -> dict[str, Any]:
    """Complaints (feedback's report by outlet) and fines in fen (billing's standing
    penalties of the month, by outlet) per outlet, outlets in name order."""
    complaints = {
        str(r.get("outlet") or "—"): int(r.get("complaints_filed") or 0) for r in outlet_rows
    }
    fines: dict[str, int] = {}
    for p in penalties:
        if str(p.get("offence_at") or "")[:7] != month or p.get("status") == "voided":
            continue
        outlet = str(p.get("outlet_id") or "—")
        fines[outlet] = fines.get(outlet, 0) + int(p.get("fine_fen") or 0)
    labels = sorted(set(complaints) | set(fines))
    return {
        "labels": labels,
        "complaints": [complaints.get(o, 0) for o in labels],
        "fines_fen": [fines.get(o, 0) for o in labels],
    }


def _rows(answer: Answer, key: str) -> list[dict[str, Any]]:
    return answer.body.get(key, []) if answer.ok and isinstance(answer.body, dict) else []


async def _figures(
    request: Request, user: Session, month: str, grouping: str, region: str | None
) -> dict[str, Any]:
    backend = backend_of(request)
    first, last = month_days(month)
    callbacks, visits, outlets, penalties = await asyncio.gather(
        backend.get(user.token, "feedback", "/reports/callbacks", month=month, by=grouping),
        backend.get(
            user.token, "dispatch", "/reports/visits", **{"from": first, "to": last}, region=region
        ),
        backend.get(user.token, "feedback", "/reports/callbacks", month=month, by="outlet"),
        backend.get(user.token, "billing", "/penalties"),
    )
    rows = _rows(callbacks, "rows")
    if region and grouping == "region":
        rows = [r for r in rows if r.get("region") == region]
    fines = penalties.body if penalties.ok and isinstance(penalties.body, list) else []
    problems = [refusal(a) for a in (callbacks, visits) if not a.ok]
    return {
        "rows": rows,
        "weeks": _rows(visits, "weeks"),
        "figures": {
            **chart(rows, grouping),
            "visits": visits_chart(_rows(visits, "weeks")),
            "outlets": outlets_chart(_rows(outlets, "rows"), fines, month),
        },
        "problem": " · ".join(problems) or None,
    }


@router.get("/manager", response_class=HTMLResponse)
async def manager_page(
    request: Request,
    user: User,
    month: str | None = None,
    by: str = "region",
    region: str | None = None,
) -> HTMLResponse:
    zone = ZoneInfo(settings_of(request).console_timezone)
    chosen = month if month and MONTH.match(month) else datetime.now(zone).strftime("%Y-%m")
    grouping = by if by in GROUPINGS else "region"
    where = region if region in KNOWN_REGIONS else None
    data = await _figures(request, user, chosen, grouping, where)
    return render(
        request,
        "manager.html",
        user,
        month=chosen,
        by=grouping,
        region=where,
        regions=KNOWN_REGIONS,
        groupings=GROUPINGS,
        **data,
    )
