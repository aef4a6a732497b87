"""A ticket's page: its numbers and status, and its whole timeline across intake,
dispatch, billing and feedback, each event with the rules that decided it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from repairline_console.web import User, back_to, backend_of, refusal, render

router = APIRouter()

CONTEXTS = ("intake", "dispatch", "billing", "feedback")


def context_of(source: str) -> str:
    """The context an event came from, by its CloudEvents source (`/repairline/dispatch`)."""
    return next((c for c in CONTEXTS if c in (source or "")), "other")


def details(entry: dict[str, Any]) -> dict[str, Any]:
    """What an entry says besides its identity, time and rules."""
    skip = {"event_id", "type", "source", "time", "rule_ids", "policy"}
    return {k: v for k, v in entry.items() if k not in skip and v not in (None, [], {})}


@router.get("/tickets", response_class=HTMLResponse)
async def find_page(request: Request, user: User) -> HTMLResponse:
    return render(request, "find.html", user)


@router.post("/tickets")
async def find(ticket_id: Annotated[str, Form()]) -> Response:
    return back_to(f"/tickets/{ticket_id.strip()}")


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(request: Request, user: User, ticket_id: str) -> HTMLResponse:
    answer = await backend_of(request).get(user.token, "intake", f"/tickets/{ticket_id}")
    if not answer.ok:
        return render(
            request,
            "ticket.html",
            user,
            ticket=None,
            problem=refusal(answer),
            status_code=404 if answer.status == 404 else 200,
        )
    ticket = answer.body
    timeline = [
        {
            **entry,
            "context": context_of(entry.get("source", "")),
            "kind": entry["type"].rsplit(".", 1)[-1],
            "details": details(entry),
        }
        for entry in ticket.get("timeline", [])
    ]
    return render(request, "ticket.html", user, ticket=ticket, timeline=timeline)
