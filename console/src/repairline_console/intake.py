"""The agent's intake form: a repair request as intake's API takes it, each field's
error shown in place (the API's own 422 answer), the warranty looked up by serial number
as it is typed (WAR-3) with the open tickets of that unit, then the numbers to read to the
customer (INT-2), the triage answer (INT-5) and, for a visit, dispatch's next free
windows; a duplicate request names the open ticket it duplicates. Tickets are found by
their numbers, the customer's phone or the serial number."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from repairline_console.web import Session, User, backend_of, refusal, render

router = APIRouter()

CHANNELS = ("hotline", "depot", "dealer", "app", "web", "email", "front_desk")
CITY_TIERS = ("municipality", "provincial_capital", "prefecture_city", "county_city")
SERVICE_MODES = ("on_site", "depot")
# a ticket in one of these no longer blocks a new request for its serial number
DONE = frozenset({"cancelled", "closed", "picked_up", "refused", "repair_completed"})
SEARCH_BY = ("number", "phone", "serial")
FAULT_KINDS = ("unknown", "hardware", "software", "misuse", "misreport")
# form field name -> where it goes in the request body
FIELDS = (
    "channel",
    "region",
    "city_tier",
    "service_mode",
    "customer.name",
    "customer.mobile",
    "customer.address",
    "product.line",
    "product.model",
    "product.serial_no",
    "product.purchase_date",
    "fault_description",
    "fault_kind",
    "customer_wants",
)


def request_body(form: dict[str, str]) -> dict[str, Any]:
    """The form as intake's `POST /tickets` body: empty fields left out, dotted names nested."""
    body: dict[str, Any] = {}
    for name in FIELDS:
        value = (form.get(name) or "").strip()
        if not value:
            continue
        head, _, tail = name.partition(".")
        if tail:
            body.setdefault(head, {})[tail] = value
        else:
            body[head] = value
    return body


def field_errors(answer_body: Any) -> dict[str, str]:
    """The 422's errors by field (`customer.mobile` -> its reason)."""
    errors = answer_body.get("errors", []) if isinstance(answer_body, dict) else []
    out: dict[str, str] = {}
    for error in errors:
        out.setdefault(str(error.get("field") or "_"), str(error.get("reason") or ""))
    return out


def _form(request: Request, user: Session, **context: Any) -> HTMLResponse:
    region = next(iter(sorted(user.principal.regions)), "cn-east")
    values = {"channel": "hotline", "region": region, "city_tier": "provincial_capital"}
    return render(
        request,
        context.pop("template", "intake.html"),
        user,
        channels=CHANNELS,
        city_tiers=CITY_TIERS,
        service_modes=SERVICE_MODES,
        fault_kinds=FAULT_KINDS,
        values=context.pop("values", values),
        errors=context.pop("errors", {}),
        **context,
    )


@router.get("/intake", response_class=HTMLResponse)
async def intake_page(request: Request, user: User) -> HTMLResponse:
    return _form(request, user)


@router.post("/intake", response_class=HTMLResponse)
async def file_request(request: Request, user: User) -> HTMLResponse:
    form = {k: str(v) for k, v in (await request.form()).items()}
    backend = backend_of(request)
    answer = await backend.post(user.token, "intake", "/tickets", request_body(form))
    if answer.status == 201:
        return await _created(request, user, answer.body, form)
    errors = field_errors(answer.body) if answer.status == 422 else {}
    duplicate = answer.status == 409
    serial = form.get("product.serial_no", "").strip()
    return _form(
        request,
        user,
        template="intake_form.html",
        values=form,
        errors=errors,
        problem=None if errors else refusal(answer),
        duplicate=duplicate,
        open_tickets=await _open_tickets(request, user, serial) if duplicate else [],
        status_code=200,
    )


async def _created(
    request: Request, user: Session, created: dict[str, Any], form: dict[str, str]
) -> HTMLResponse:
    """INT-2's numbers and INT-5's answer; for a visit, the next free windows (DSP-2)."""
    backend = backend_of(request)
    view, windows = await asyncio.gather(
        backend.get(user.token, "intake", f"/tickets/{created['ticket_id']}"),
        _windows(request, user, created, form),
    )
    return render(
        request,
        "intake_done.html",
        user,
        created=created,
        ticket=view.body if view.ok else None,
        windows=windows,
    )


async def _windows(
    request: Request, user: Session, created: dict[str, Any], form: dict[str, str]
) -> dict[str, Any] | None:
    """Dispatch's next free windows for the request's region and product line (None:
    not a visit); a refusal is shown in their place."""
    if (created.get("route") or "visit") != "visit":
        return None
    answer = await backend_of(request).get(
        user.token,
        "dispatch",
        "/windows",
        region=form.get("region"),
        product_line=form.get("product.line"),
        limit=5,
    )
    if not answer.ok:
        return {"windows": [], "problem": refusal(answer)}
    return {"windows": answer.body.get("windows", []), "problem": None}


def open_ones(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tickets still open (a new request for their unit would be a duplicate)."""
    return [t for t in tickets if t.get("status") not in DONE]


async def _open_tickets(request: Request, user: Session, serial: str) -> list[dict[str, Any]]:
    if not serial:
        return []
    answer = await backend_of(request).get(user.token, "intake", "/tickets", serial=serial)
    return open_ones(answer.body.get("tickets", [])) if answer.ok else []


async def serial_lookup(request: Request, user: Session, serial: str) -> dict[str, Any]:
    """WAR-3: the maker's sale of the unit and its warranty today (None: no record), and
    the open tickets of the unit."""
    if not serial:
        return {"serial": "", "record": None, "open_tickets": [], "problem": None}
    record, open_tickets = await asyncio.gather(
        backend_of(request).get(user.token, "intake", f"/sales-records/{serial}"),
        _open_tickets(request, user, serial),
    )
    problem = None if record.ok or record.status == 404 else refusal(record)
    return {
        "serial": serial,
        "record": record.body if record.ok else None,
        "open_tickets": open_tickets,
        "problem": problem,
    }


@router.get("/intake/serial", response_class=HTMLResponse)
async def serial_page(
    request: Request,
    user: User,
    serial: Annotated[str, Query(alias="product.serial_no", max_length=128)] = "",
) -> HTMLResponse:
    lookup = await serial_lookup(request, user, serial.strip())
    return render(request, "intake_serial.html", user, lookup=lookup)


def search_params(by: str, query: str) -> dict[str, str] | None:
    """Intake's `GET /tickets` filter for what the agent typed (None: nothing to look for)."""
    query = query.strip()
    if not query or by not in SEARCH_BY:
        return None
    return {by: query}


@router.post("/intake/search", response_class=HTMLResponse)
async def search(
    request: Request,
    user: User,
    query: Annotated[str, Form(max_length=128)] = "",
    by: Annotated[str, Form()] = "number",
) -> HTMLResponse:
    """Tickets by their numbers (INT-2), the customer's phone or the serial number, those
    the agent may see. A form post: a phone never sits in an address or an access log."""
    params = search_params(by, query)
    found: list[dict[str, Any]] = []
    problem = None
    if params is not None:
        answer = await backend_of(request).get(user.token, "intake", "/tickets", **params)
        found = answer.body.get("tickets", []) if answer.ok else []
        problem = None if answer.ok else refusal(answer)
    return render(request, "search_results.html", user, found=found, problem=problem, by=by)
