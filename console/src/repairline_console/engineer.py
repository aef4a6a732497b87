"""The engineer's phone: today's jobs in order with address, window and product, and the
visit's steps (depart, arrive, customer not found, completion with the customer's
acceptance), each one dispatch command with the engineer's own token."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from repairline_console.web import Session, User, backend_of, refusal, render

router = APIRouter()

# step -> (dispatch route, the visit states it is offered in)
STEPS = {
    "departure": ("departure", ("assigned",)),
    "arrival": ("arrival", ("assigned", "en_route")),
    "not_found": ("customer-not-found", ("en_route", "on_site")),
}
FINISHING = ("on_site", "in_progress")


async def _job(request: Request, user: Session, appointment: dict[str, Any]) -> dict[str, Any]:
    backend = backend_of(request)
    ticket_id = appointment["ticket_id"]
    visit, ticket = await asyncio.gather(
        backend.get(user.token, "dispatch", f"/tickets/{ticket_id}"),
        backend.get(user.token, "intake", f"/tickets/{ticket_id}"),
    )
    t = ticket.body if ticket.ok else {}
    return {
        **appointment,
        "state": visit.body.get("state") if visit.ok else None,
        "customer": t.get("customer") or {},
        "product": {k: v for k, v in (t.get("facts") or {}).items() if k in ("serial_no",)},
        "product_line": t.get("product_line"),
        "fault": t.get("fault_description"),
        "repair_order_no": t.get("repair_order_no"),
    }


async def _jobs(request: Request, user: Session) -> tuple[list[dict[str, Any]], str | None]:
    engineer_id = user.principal.engineer_id
    if not engineer_id:
        return [], "no engineer id in this sign-in"
    answer = await backend_of(request).get(
        user.token, "dispatch", f"/engineers/{engineer_id}/schedule"
    )
    if not answer.ok:
        return [], refusal(answer)
    jobs = await asyncio.gather(*(_job(request, user, a) for a in answer.body))
    return list(jobs), None


async def _page(request: Request, user: Session, **context: Any) -> HTMLResponse:
    jobs, problem = await _jobs(request, user)
    return render(
        request,
        "engineer.html",
        user,
        jobs=jobs,
        steps=STEPS,
        finishing=FINISHING,
        problem=context.pop("problem", None) or problem,
        **context,
    )


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
