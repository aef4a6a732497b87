"""The engineer's phone: today's jobs in order with address, window, product and what to
bring (the parts of the job, DSP-4), and the visit's steps, each one command with the
engineer's own token: depart, arrive, the search for a customer who does not open (the
knocks, the phone call and the wait of DSP-9, then 'customer not found'), the inspection
(WAR-3, WAR-4), a parts request (DSP-4), a quote the customer accepts or refuses on the
phone (FEE-4), completion with the customer's acceptance (DSP-12)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from repairline_console.backend import Answer, Backend
from repairline_console.board import services_now
from repairline_console.intake import field_errors
from repairline_console.web import Session, User, backend_of, refusal, render, settings_of

router = APIRouter()

# step -> (dispatch route, the visit states it is offered in)
STEPS = {
    "departure": ("departure", ("assigned",)),
    "arrival": ("arrival", ("assigned", "en_route")),
}
FINISHING = ("on_site", "in_progress")
REPORTING = ("assigned", "en_route", *FINISHING)  # DSP-4: a part is asked for before departure
SEARCH_STEPS = ("knock", "phone")
PART_STATUSES = ("needed", "backordered", "arrived", "wrong")
# DSP-4: a part's latest word on the ticket's timeline
PART_EVENTS = {
    "PartsRequested": "needed",
    "PartsBackordered": "backordered",
    "PartsArrived": "arrived",
    "WrongPartOnSite": "wrong",
}
INSPECTION_CHECKS = ("wiring_to_code", "misuse", "unauthorised_repair")
INSPECTION_DATES = ("warranty_card_date", "invoice_date")
# s the page waits for dispatch to receive billing's QuoteAccepted, or for billing to
# receive intake's warranty decision on an inspection, before it answers
RECEIVED_WAIT = 10.0


def parts_to_bring(timeline: list[dict[str, Any]]) -> list[dict[str, str]]:
    """DSP-4: each part of the job with its latest state (needed, backordered, arrived,
    wrong), in the order first asked for."""
    latest: dict[str, str] = {}
    for entry in timeline:
        status = PART_EVENTS.get(str(entry.get("type", "")).rsplit(".", 1)[-1])
        if status and entry.get("part"):
            latest[str(entry["part"])] = status
    return [{"part": part, "status": status} for part, status in latest.items()]


def inspection_body(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """WAR-3, WAR-4: what the engineer stated (a check left unanswered is not stated),
    and the fields the page itself refuses (a voltage that is not a number, a bad date)."""
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    voltage = (form.get("supply_voltage_v") or "").strip()
    if voltage:
        try:
            body["supply_voltage_v"] = float(voltage)
        except ValueError:
            errors["supply_voltage_v"] = "a number of volts"
    for check in INSPECTION_CHECKS:
        if form.get(check) in ("yes", "no"):
            body[check] = form[check] == "yes"
    for name in INSPECTION_DATES:
        value = (form.get(name) or "").strip()
        if value:
            try:
                body[name] = date.fromisoformat(value).isoformat()
            except ValueError:
                errors[name] = "a date (YYYY-MM-DD)"
    return body, errors


def quote_body(engineer_id: str | None, form: dict[str, str]) -> dict[str, Any]:
    """FEE-4: the quote the engineer asks billing for: the part of the price list (one
    line from the phone) and its quantity."""
    code = (form.get("part") or "").strip()
    quantity = (form.get("quantity") or "1").strip()
    parts = [{"code": code, "quantity": int(quantity) if quantity.isdigit() else quantity}]
    return {"engineer_id": engineer_id, "parts": parts if code else []}


async def _visit_extras(
    request: Request, user: Session, ticket_id: str, state: str | None
) -> dict[str, Any]:
    """The DSP-9 checklist on site, and the quotes once the engineer is at the unit."""
    backend, token = backend_of(request), user.token
    on_site = state == "on_site"
    search, quotes = await asyncio.gather(
        backend.get(token, "dispatch", f"/tickets/{ticket_id}/customer-search")
        if on_site
        else _nothing(),
        backend.get(token, "billing", f"/tickets/{ticket_id}/quotes")
        if state in FINISHING
        else _nothing(),
    )
    return {
        "search": search.body if search.ok else None,
        "quotes": quotes.body if quotes.ok and isinstance(quotes.body, list) else [],
    }


async def _nothing() -> Answer:
    return Answer(204, None)


async def _job(request: Request, user: Session, appointment: dict[str, Any]) -> dict[str, Any]:
    backend = backend_of(request)
    ticket_id = appointment["ticket_id"]
    visit, ticket = await asyncio.gather(
        backend.get(user.token, "dispatch", f"/tickets/{ticket_id}"),
        backend.get(user.token, "intake", f"/tickets/{ticket_id}"),
    )
    t = ticket.body if ticket.ok else {}
    state = visit.body.get("state") if visit.ok else None
    return {
        **appointment,
        **await _visit_extras(request, user, ticket_id, state),
        "state": state,
        "customer": t.get("customer") or {},
        "product": {k: v for k, v in (t.get("facts") or {}).items() if k in ("serial_no",)},
        "product_line": t.get("product_line"),
        "fault": t.get("fault_description"),
        "repair_order_no": t.get("repair_order_no"),
        "parts": parts_to_bring(t.get("timeline") or []),
    }


async def _jobs(request: Request, user: Session) -> tuple[list[dict[str, Any]], str | None]:
    engineer_id = user.principal.engineer_id
    if not engineer_id:
        return [], "no engineer id in this sign-in"
    backend = backend_of(request)
    answer, clock = await asyncio.gather(
        backend.get(user.token, "dispatch", f"/engineers/{engineer_id}/schedule"),
        backend.get(user.token, "dispatch", "/admin/clock"),
    )
    if not answer.ok:
        return [], refusal(answer)
    zone = ZoneInfo(settings_of(request).console_timezone)
    today = services_now(clock).astimezone(zone).date()
    jobs = await asyncio.gather(*(_job(request, user, a) for a in answer.body))
    return day_groups(list(jobs), today, zone), None


def day_groups(jobs: list[dict[str, Any]], today: date, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The jobs in window order, each marked `earlier` (a past day's, still open), `today`
    or `later` by its window's local day, and `first` where its group begins."""

    def start(job: dict[str, Any]) -> datetime:
        at = job["starts_at"]
        return datetime.fromisoformat(at) if isinstance(at, str) else at

    marked, last = [], None
    for job in sorted(jobs, key=start):
        day = start(job).astimezone(zone).date()
        group = "today" if day == today else ("earlier" if day < today else "later")
        marked.append({**job, "day_group": group, "first": group != last})
        last = group
    return marked


async def _page(request: Request, user: Session, **context: Any) -> HTMLResponse:
    jobs, problem = await _jobs(request, user)
    return render(
        request,
        "engineer.html",
        user,
        jobs=jobs,
        steps=STEPS,
        finishing=FINISHING,
        reporting=REPORTING,
        part_statuses=PART_STATUSES,
        checks=INSPECTION_CHECKS,
        problem=context.pop("problem", None) or problem,
        **context,
    )


async def _answered(
    request: Request, user: Session, answer: Answer, done: str, opened: str | None = None
) -> HTMLResponse:
    """The page after a command: what was done, or the refusal with its fields in place;
    `opened` (`<ticket>:<panel>`) keeps the panel the engineer was in open."""
    if answer.ok:
        return await _page(request, user, done=done, opened=opened)
    errors = field_errors(answer.body)
    return await _page(request, user, problem=refusal(answer), field_errors=errors, opened=opened)


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


@router.get("/engineer", response_class=HTMLResponse)
async def engineer_page(request: Request, user: User) -> HTMLResponse:
    return await _page(request, user)


@router.post("/engineer/{ticket_id}/step/{step}", response_class=HTMLResponse)
async def visit_step(request: Request, user: User, ticket_id: str, step: str) -> HTMLResponse:
    if step not in STEPS:
        return await _page(request, user, problem=f"unknown step {step}")
    route = STEPS[step][0]
    body = {"engineer_id": user.principal.engineer_id} if step == "arrival" else {}
    answer = await backend_of(request).post(
        user.token, "dispatch", f"/tickets/{ticket_id}/{route}", body
    )
    notice = None if answer.ok else refusal(answer)
    return await _page(request, user, problem=notice, done=None if notice else step)


@router.post("/engineer/{ticket_id}/search/{step}", response_class=HTMLResponse)
async def search_step(request: Request, user: User, ticket_id: str, step: str) -> HTMLResponse:
    """DSP-9: a knock or the phone call, recorded by dispatch against the pack's timeline."""
    if step not in SEARCH_STEPS:
        return await _page(request, user, problem=f"unknown step {step}")
    answer = await backend_of(request).post(
        user.token, "dispatch", f"/tickets/{ticket_id}/customer-search", {"step": step}
    )
    return await _answered(request, user, answer, step, f"{ticket_id}:search")


@router.post("/engineer/{ticket_id}/not-found", response_class=HTMLResponse)
async def not_found(request: Request, user: User, ticket_id: str) -> HTMLResponse:
    """DSP-9: the note left and the coordinator told, once the pack's wait is over."""
    answer = await backend_of(request).post(
        user.token, "dispatch", f"/tickets/{ticket_id}/customer-not-found", {}
    )
    return await _answered(request, user, answer, "not_found", f"{ticket_id}:search")


@router.post("/engineer/{ticket_id}/inspection", response_class=HTMLResponse)
async def inspection(request: Request, user: User, ticket_id: str) -> HTMLResponse:
    """WAR-3, WAR-4: what the engineer found at the unit."""
    body, errors = inspection_body(await _form(request))
    if errors:
        problem = "422: " + " · ".join(f"{k}: {v}" for k, v in errors.items())
        opened = f"{ticket_id}:inspection"
        return await _page(request, user, problem=problem, field_errors=errors, opened=opened)
    answer = await backend_of(request).post(
        user.token, "dispatch", f"/tickets/{ticket_id}/inspection", body
    )
    return await _answered(request, user, answer, "inspection", f"{ticket_id}:inspection")


@router.post("/engineer/{ticket_id}/parts", response_class=HTMLResponse)
async def parts(
    request: Request,
    user: User,
    ticket_id: str,
    part: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "needed",
) -> HTMLResponse:
    """DSP-4: a part needed, backordered, arrived or wrong on site."""
    body = {"part": part.strip(), "status": status}
    answer = await backend_of(request).post(
        user.token, "dispatch", f"/tickets/{ticket_id}/parts", body
    )
    return await _answered(request, user, answer, "parts", f"{ticket_id}:parts")


@router.post("/engineer/{ticket_id}/quote", response_class=HTMLResponse)
async def issue_quote(request: Request, user: User, ticket_id: str) -> HTMLResponse:
    """FEE-4: billing prices the visit and the part by the pack; the customer answers.
    After an inspection (WAR-4) the quote names it, so it is priced on intake's warranty
    decision on what the engineer found, not on the warranty before."""
    backend = backend_of(request)
    body = quote_body(user.principal.engineer_id, await _form(request))
    answer = await quote_after_inspection(backend, user.token, ticket_id, body)
    if _not_caught_up(answer):
        opened = f"{ticket_id}:quote"
        return await _page(request, user, problem="quote_decision_pending", opened=opened)
    return await _answered(request, user, answer, "quote", f"{ticket_id}:quote")


async def quote_after_inspection(
    backend: Backend,
    token: str,
    ticket_id: str,
    body: dict[str, Any],
    *,
    wait: float = RECEIVED_WAIT,
    every: float = 0.2,
) -> Answer:
    """WAR-4, FEE-4: the quote, naming the visit's latest inspection as dispatch has it;
    billing refuses it for now (409 `not_caught_up`) until intake's warranty decision on
    that inspection has reached it, so it is asked again for up to `wait` seconds."""
    seen = await backend.get(token, "dispatch", f"/tickets/{ticket_id}/received")
    if seen.ok and isinstance(seen.body, dict) and seen.body.get("inspection_id"):
        body = {**body, "after_inspection": seen.body["inspection_id"]}
    path = f"/tickets/{ticket_id}/quotes"
    return await _asked_until(
        lambda: backend.post(token, "billing", path, body),
        lambda answer: not _not_caught_up(answer),
        wait=wait,
        every=every,
    )


async def _asked_until(
    ask: Callable[[], Awaitable[Answer]],
    done: Callable[[Answer], bool],
    *,
    wait: float,
    every: float,
) -> Answer:
    """`ask` until its answer is `done` or `wait` seconds passed; the last answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        answer = await ask()
        if done(answer) or loop.time() >= deadline:
            return answer
        await asyncio.sleep(every)


def _not_caught_up(answer: Answer) -> bool:
    return (
        answer.status == 409
        and isinstance(answer.body, dict)
        and answer.body.get("error") == "not_caught_up"
    )


@router.post("/engineer/{ticket_id}/quote/{quote_id}/{answer_to}", response_class=HTMLResponse)
async def answer_quote(
    request: Request,
    user: User,
    ticket_id: str,
    quote_id: str,
    answer_to: str,
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """FEE-4: the customer, on the phone, accepts the quote (work may start) or refuses
    it (no work, no charge; the reason is required)."""
    if answer_to not in ("acceptance", "refusal"):
        return await _page(request, user, problem=f"unknown answer {answer_to}")
    body = {"reason": reason.strip()} if answer_to == "refusal" else {}
    path = f"/tickets/{ticket_id}/quotes/{quote_id}/{answer_to}"
    backend = backend_of(request)
    answer = await backend.post(user.token, "billing", path, body)
    done = f"quote_{answer_to}"
    accepted = answer.ok and answer_to == "acceptance"
    if accepted and not await dispatch_received(backend, user.token, ticket_id, "accepted"):
        done = "quote_acceptance_pending"
    return await _answered(request, user, answer, done, f"{ticket_id}:quote")


async def dispatch_received(
    backend: Backend,
    token: str,
    ticket_id: str,
    quote_state: str,
    *,
    wait: float = RECEIVED_WAIT,
    every: float = 0.2,
) -> bool:
    """FEE-4, DSP-11: has dispatch received the customer's answer billing recorded (and
    intake's warranty decision on the inspection, WAR-4)? Asked until it has or `wait`
    seconds passed: dispatch refuses to complete a chargeable job until its own copy shows
    the quote accepted, so the page says 'accepted' only once the completion it offers
    next can pass (and says that dispatch is behind otherwise)."""

    def received(seen: Answer) -> bool:
        body = seen.body if seen.ok and isinstance(seen.body, dict) else {}
        return body.get("quote_state") == quote_state and not body.get("warranty_pending")

    path = f"/tickets/{ticket_id}/received"
    seen = await _asked_until(
        lambda: backend.get(token, "dispatch", path), received, wait=wait, every=every
    )
    return received(seen)


@router.post("/engineer/{ticket_id}/completion", response_class=HTMLResponse)
async def complete(
    request: Request,
    user: User,
    ticket_id: str,
    resolution: Annotated[str, Form()],
    signed_by: Annotated[str, Form()] = "",
    accepted: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """DSP-12: the work done, signed by the customer who accepted it on the phone."""
    if accepted is None or not signed_by.strip():
        return await _page(request, user, problem="acceptance", unsigned=ticket_id)
    body = {"resolution": resolution, "signed_by": signed_by.strip()}
    answer = await backend_of(request).post(
        user.token, "dispatch", f"/tickets/{ticket_id}/completion", body
    )
    notice = None if answer.ok else refusal(answer)
    return await _page(request, user, problem=notice, done=None if notice else "completion")
