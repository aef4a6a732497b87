"""The callback agent's screen: the morning list with its coverage (FBK-2), the callbacks
due with the FBK-4 questions, outcome and grade (FBK-3..5), the dissatisfied cases with
the revisit dispatch opened for each (FBK-5), and the complaints with their answer-by
time (FBK-6, three working days): the unreached customers waiting for their retry
(FBK-3), each dissatisfied case with its revisit and the callbacks that follow it (FBK-5),
and each complaint's clock (green, amber within a day, red once passed or escalated) with
its answer recorded from the page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from repairline_console.board import countdown
from repairline_console.web import Session, User, backend_of, refusal, render

router = APIRouter()

QUESTIONS = (
    "on_time",
    "uniform_and_badge",
    "installation_neat",
    "product_quality_ok",
    "attitude_and_skill_ok",
    "charged_by_tariff",
    "usage_explained",
    "record_filled_and_signed",
    "satisfied_overall",
)
GRADES = ("satisfied", "average", "dissatisfied")
COMPLAINT_AMBER = timedelta(days=1)


def complaint_clock(complaint: dict[str, Any], now: datetime) -> tuple[str, str]:
    """FBK-6: the complaint's answer clock as a colour and the time left (`-2h05` once
    passed): answered is done; escalated or past its answer-by time is red; within a
    day of it amber."""
    if complaint.get("answered_at") or complaint.get("status") in ("verified", "dismissed"):
        return "done", ""
    answer_by = complaint.get("answer_by")
    if not answer_by:
        return "none", ""
    deadline = datetime.fromisoformat(answer_by)
    left = countdown(deadline, now)
    if complaint.get("escalated_at") or deadline <= now:
        return "red", left
    return ("amber" if deadline - now <= COMPLAINT_AMBER else "green"), left


async def _revisit(request: Request, user: Session, case: dict[str, Any]) -> dict[str, Any]:
    """FBK-5: the case with the revisit dispatch opened and the callbacks of its ticket
    (the follow-up after the revisit)."""
    backend, ticket_id = backend_of(request), case["ticket_id"]
    visit, calls = await asyncio.gather(
        backend.get(user.token, "dispatch", f"/tickets/{ticket_id}"),
        backend.get(user.token, "feedback", "/callbacks", status="all", ticket_id=ticket_id),
    )
    return {
        **case,
        "visit": visit.body if visit.ok else None,
        "followups": calls.body if calls.ok else [],
    }


async def _page(request: Request, user: Session, **context: Any) -> HTMLResponse:
    backend = backend_of(request)
    morning, due, retries, cases, complaints = await asyncio.gather(
        backend.get(user.token, "feedback", "/callbacks/morning-list"),
        backend.get(user.token, "feedback", "/callbacks", status="due"),
        backend.get(user.token, "feedback", "/callbacks", status="retry_pending"),
        backend.get(user.token, "feedback", "/cases"),
        backend.get(user.token, "feedback", "/complaints"),
    )
    problem = next((refusal(a) for a in (morning, due, cases) if not a.ok), None)
    revisits = await asyncio.gather(
        *(_revisit(request, user, c) for c in (cases.body if cases.ok else []))
    )
    now = datetime.now(UTC)
    listed = complaints.body if complaints.ok else []
    return render(
        request,
        "followup.html",
        user,
        morning=morning.body if morning.ok else None,
        due=due.body if due.ok else [],
        retries=retries.body if retries.ok else [],
        cases=list(revisits),
        complaints=[{**c, "clock": complaint_clock(c, now)} for c in listed],
        questions=QUESTIONS,
        grades=GRADES,
        problem=context.pop("problem", None) or problem,
        **context,
    )


@router.get("/followup", response_class=HTMLResponse)
async def followup_page(request: Request, user: User) -> HTMLResponse:
    return await _page(request, user)


def attempt_body(form: dict[str, str]) -> dict[str, Any]:
    """The call's outcome as feedback takes it: reached or not; the FBK-4 answers that
    were given (yes/no); the grade and its reason."""
    reached = form.get("reached") == "yes"
    body: dict[str, Any] = {"reached": reached}
    if reached:
        body["answers"] = {q: form[q] == "yes" for q in QUESTIONS if form.get(q) in ("yes", "no")}
        body["grade"] = form.get("grade") or None
        body["reason"] = (form.get("reason") or "").strip() or None
    return body


@router.post("/followup/{callback_id}/attempt", response_class=HTMLResponse)
async def record_attempt(request: Request, user: User, callback_id: str) -> HTMLResponse:
    form = {k: str(v) for k, v in (await request.form()).items()}
    answer = await backend_of(request).post(
        user.token, "feedback", f"/callbacks/{callback_id}/attempts", attempt_body(form)
    )
    if answer.ok:
        return await _page(request, user, recorded=callback_id)
    return await _page(request, user, problem=refusal(answer))


@router.post("/followup/complaints/{complaint_id}/answer", response_class=HTMLResponse)
async def answer_complaint(
    request: Request, user: User, complaint_id: str, answer: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """FBK-6: the customer was answered (apologise, listen, restate, resolve)."""
    if not answer.strip():
        return await _page(request, user, problem="422: answer: what the customer was told")
    reply = await backend_of(request).post(
        user.token, "feedback", f"/complaints/{complaint_id}/answer", {"answer": answer.strip()}
    )
    if reply.ok:
        return await _page(request, user, answered=complaint_id)
    return await _page(request, user, problem=refusal(reply))
