"""The agent's intake form: a repair request as intake's API takes it, each field's
error shown in place (the API's own 422 answer), then the numbers to read to the
customer (INT-2) and the triage answer (INT-5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from repairline_console.web import Session, User, backend_of, refusal, render

router = APIRouter()

CHANNELS = ("hotline", "depot", "dealer", "app", "web", "email", "front_desk")
CITY_TIERS = ("municipality", "provincial_capital", "prefecture_city", "county_city")
SERVICE_MODES = ("on_site", "depot")
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
        created = answer.body
        view = await backend.get(user.token, "intake", f"/tickets/{created['ticket_id']}")
        return render(
            request,
            "intake_done.html",
            user,
            created=created,
            ticket=view.body if view.ok else None,
        )
    errors = field_errors(answer.body) if answer.status == 422 else {}
    problem = None if errors else refusal(answer)
    return _form(
        request,
        user,
        template="intake_form.html",
        values=form,
        errors=errors,
        problem=problem,
        duplicate=answer.status == 409,
        status_code=200,
    )
