"""The dispatcher's board: one lane per engineer for a day and region, the jobs waiting
for an engineer or a time with their reason, DSP-3 countdowns, alerts; reschedule with
the customer's consent recorded. Changes made by others arrive as server-sent events
(the console polls dispatch's board with the dispatcher's own token)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from repairline_console.backend import Answer
from repairline_console.web import Session, User, backend_of, refusal, render, settings_of
from repairline_platform.bounds import KNOWN_REGIONS

router = APIRouter()

DAY_START, DAY_HOURS = 7, 14  # a lane shows 07:00 to 21:00
AMBER = timedelta(hours=2)
# the alerts the board shows, each kind a group of its own, in this order
ALERT_ORDER = (
    "sla_breached",
    "sla_approaching",
    "missed_appointment",
    "engineer_delayed",
    "lateness_notice_due",
    "customer_not_found",
    "unassignable",
)
ALERT_KINDS = frozenset(ALERT_ORDER)


@dataclass(frozen=True)
class Day:
    region: str | None
    day: date
    zone: ZoneInfo

    @property
    def query(self) -> str:
        return f"region={self.region or ''}&day={self.day.isoformat()}"

    def offset(self, moment: datetime) -> float:
        """Where a moment sits on a lane, in percent of its width."""
        start = datetime.combine(self.day, time(DAY_START), self.zone)
        share = (moment - start) / timedelta(hours=DAY_HOURS) * 100
        return max(0.0, min(100.0, share))


def _day(request: Request, user: Session, region: str | None, day: str | None) -> Day:
    zone = ZoneInfo(settings_of(request).console_timezone)
    own = sorted(user.principal.regions)
    chosen = region if region in KNOWN_REGIONS else (own[0] if own else None)
    try:
        when = date.fromisoformat(day) if day else datetime.now(zone).date()
    except ValueError:
        when = datetime.now(zone).date()
    return Day(chosen, when, zone)


def urgency(deadline: datetime | None, now: datetime) -> str:
    """DSP-3 countdown colour: red once passed, amber within two hours."""
    if deadline is None:
        return "none"
    if deadline <= now:
        return "red"
    return "amber" if deadline - now <= AMBER else "green"


def countdown(deadline: datetime | None, now: datetime) -> str:
    if deadline is None:
        return ""
    minutes = int((deadline - now).total_seconds() // 60)
    sign, minutes = ("-" if minutes < 0 else ""), abs(minutes)
    return f"{sign}{minutes // 60}h{minutes % 60:02d}"


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _job(row: dict[str, Any], day: Day, now: datetime) -> dict[str, Any]:
    start, end = _moment(row.get("appointment_start")), _moment(row.get("appointment_end"))
    job = dict(row)
    for name in ("visit_by", "fix_by"):
        deadline = _moment(row.get(name))
        job[f"{name}_colour"] = urgency(deadline, now)
        job[f"{name}_left"] = countdown(deadline, now)
    if start and end:
        job["left"] = day.offset(start)
        job["width"] = max(day.offset(end) - job["left"], 2.0)
    return job


def lanes(
    engineers: list[dict[str, Any]],
    jobs: list[dict[str, Any]],
    day: Day,
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Engineers with their booked jobs in order (and the travel gap before each), and
    the queue: jobs without an engineer or without a time on this day. Countdowns run
    against `now`, the services' time."""
    now = now or datetime.now(UTC)
    booked: dict[str, list[dict[str, Any]]] = {}
    queue = []
    for row in jobs:
        job = _job(row, day, now)
        if job.get("engineer_id") and "left" in job and job["state"] not in ("needs_rebooking",):
            booked.setdefault(job["engineer_id"], []).append(job)
        else:
            queue.append(job)
    out = []
    for engineer in engineers:
        if day.region and engineer.get("region") != day.region:
            continue
        mine = booked.get(engineer["engineer_id"], [])
        for before, after in itertools.pairwise(mine):
            gap = _moment(after["appointment_start"]) - _moment(before["appointment_end"])
            after["gap_minutes"] = int(gap.total_seconds() // 60)
        out.append({**engineer, "jobs": mine})
    return out, queue


def services_now(answer: Answer) -> datetime:
    """The services' time (their clock may be simulated), from dispatch's clock answer;
    the console's own when it cannot be read."""
    if answer.ok and isinstance(answer.body, dict) and answer.body.get("now"):
        return datetime.fromisoformat(answer.body["now"])
    return datetime.now(UTC)


def alerts_by_kind(alerts: list[dict[str, Any]], per_kind: int = 5) -> list[dict[str, Any]]:
    """The board's alerts, one group per kind in `ALERT_ORDER` (SLA first, then lateness,
    customer not found, unassignable), newest first, at most `per_kind` shown each."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        groups.setdefault(alert["kind"], []).append(alert)
    return [
        {"kind": kind, "count": len(groups[kind]), "alerts": groups[kind][:per_kind]}
        for kind in ALERT_ORDER
        if kind in groups
    ]


async def _read(request: Request, user: Session, day: Day) -> dict[str, Any]:
    backend = backend_of(request)
    params = {"day": day.day.isoformat(), "region": day.region}
    jobs, engineers, alerts, clock = await asyncio.gather(
        backend.get(user.token, "dispatch", "/board", **params),
        backend.get(user.token, "dispatch", "/engineers"),
        backend.get(user.token, "dispatch", "/alerts", limit=200),
        backend.get(user.token, "dispatch", "/admin/clock"),
    )
    problem = next((refusal(a) for a in (jobs, engineers) if not a.ok), None)
    rows = jobs.body if jobs.ok else []
    now = services_now(clock)
    lane_list, queue = lanes(engineers.body if engineers.ok else [], rows, day, now)
    shown = [a for a in (alerts.body if alerts.ok else []) if a["kind"] in ALERT_KINDS]
    return {
        "lanes": lane_list,
        "queue": queue,
        "alert_groups": alerts_by_kind(shown),
        "now": now,
        "problem": problem,
    }


@router.get("/board", response_class=HTMLResponse)
async def board_page(
    request: Request,
    user: User,
    region: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    chosen = _day(request, user, region, day)
    data = await _read(request, user, chosen)
    return render(request, "board.html", user, day=chosen, regions=KNOWN_REGIONS, **data)


@router.get("/board/lanes", response_class=HTMLResponse)
async def board_lanes(
    request: Request,
    user: User,
    region: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    chosen = _day(request, user, region, day)
    data = await _read(request, user, chosen)
    return render(request, "board_lanes.html", user, day=chosen, **data)


async def _changes(request: Request, user: Session, day: Day) -> AsyncIterator[str]:
    """`board` events whenever dispatch's answer for the day changes (a comment line
    now and then keeps the connection open through proxies). The first comes at once:
    what changed between the page's rendering and this connection (or a reconnection)
    is shown too."""
    backend = backend_of(request)
    interval = settings_of(request).console_poll_seconds
    params = {"day": day.day.isoformat(), "region": day.region}
    last: str | None = None
    quiet = 0.0
    while not await request.is_disconnected():
        jobs, alerts, clock = await asyncio.gather(
            backend.get(user.token, "dispatch", "/board", **params),
            backend.get(user.token, "dispatch", "/alerts", limit=1),
            backend.get(user.token, "dispatch", "/admin/clock"),
        )
        minute = services_now(clock).replace(second=0, microsecond=0)  # countdowns move
        seen = json.dumps(
            [jobs.status, jobs.body, alerts.body, minute], sort_keys=True, default=str
        )
        digest = hashlib.sha256(seen.encode()).hexdigest()
        if digest != last:
            yield f"event: board\ndata: {digest[:12]}\n\n"
            quiet = 0.0
        elif quiet >= 15:
            yield ": still here\n\n"
            quiet = 0.0
        last = digest
        await asyncio.sleep(interval)
        quiet += interval


@router.get("/board/events")
async def board_events(
    request: Request,
    user: User,
    region: str | None = None,
    day: str | None = None,
) -> StreamingResponse:
    chosen = _day(request, user, region, day)
    return StreamingResponse(
        _changes(request, user, chosen),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _local(value: str, zone: ZoneInfo) -> str:
    """A `datetime-local` field's value as an aware ISO time in the network's zone."""
    return datetime.fromisoformat(value).replace(tzinfo=zone).isoformat()


async def _after(
    request: Request, user: Session, day: Day, ticket_id: str, problem: str | None
) -> HTMLResponse:
    """The lanes again, with what became of the dispatcher's change."""
    data = await _read(request, user, day)
    done = None if problem else ticket_id
    return render(
        request, "board_lanes.html", user, day=day, notice=problem, rescheduled=done, **data
    )


NOT_A_WINDOW = "window: not a date and time"


def _window(start: str, end: str, zone: ZoneInfo) -> dict[str, str] | None:
    """The form's window in dispatch's one window shape (`start`, `end`), or None when a
    field is not a date and time."""
    try:
        return {"start": _local(start, zone), "end": _local(end, zone)}
    except ValueError:
        return None


async def _send(request: Request, user: Session, path: str, body: dict[str, Any]) -> str | None:
    answer = await backend_of(request).post(user.token, "dispatch", path, body)
    return None if answer.ok else refusal(answer)


@router.post("/board/{ticket_id}/appointment", response_class=HTMLResponse)
async def book(
    request: Request,
    user: User,
    ticket_id: str,
    window_start: Annotated[str, Form()],
    window_end: Annotated[str, Form()],
    region: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """DSP-1: a window booked for an assigned job still without one."""
    chosen = _day(request, user, region, day)
    body = _window(window_start, window_end, chosen.zone)
    if body is None:
        return await _after(request, user, chosen, ticket_id, NOT_A_WINDOW)
    problem = await _send(request, user, f"/tickets/{ticket_id}/appointment", body)
    return await _after(request, user, chosen, ticket_id, problem)


@router.post("/board/{ticket_id}/reschedule", response_class=HTMLResponse)
async def reschedule(
    request: Request,
    user: User,
    ticket_id: str,
    window_start: Annotated[str, Form()],
    window_end: Annotated[str, Form()],
    reason: Annotated[str, Form()],
    region: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
    requested_by: Annotated[str, Form()] = "customer",
    customer_consents: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """DSP-1: a new window with the customer's answer recorded (refused sends the job
    back to the queue)."""
    chosen = _day(request, user, region, day)
    window = _window(window_start, window_end, chosen.zone)
    if window is None:
        return await _after(request, user, chosen, ticket_id, NOT_A_WINDOW)
    body = {
        **window,
        "reason": reason,
        "requested_by": requested_by,
        "customer_consents": customer_consents is not None,
    }
    problem = await _send(request, user, f"/tickets/{ticket_id}/reschedule", body)
    return await _after(request, user, chosen, ticket_id, problem)


@router.post("/board/{ticket_id}/{step}", response_class=HTMLResponse)
async def take_back(
    request: Request,
    user: User,
    ticket_id: str,
    step: Literal["reassignment", "release"],
    reason: Annotated[str, Form()],
    region: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """DSP-1: the job taken back from its engineer, with the reason: given to another
    (`reassignment`) or put back in the queue (`release`), by dispatch's route of that name.
    Declared after the board's other steps, which its path would otherwise take."""
    chosen = _day(request, user, region, day)
    problem = await _send(request, user, f"/tickets/{ticket_id}/{step}", {"reason": reason})
    return await _after(request, user, chosen, ticket_id, problem)
