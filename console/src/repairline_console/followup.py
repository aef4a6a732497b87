"""The callback agent's screen: the morning list with its coverage (FBK-2), the callbacks
due with the FBK-4 questions, outcome and grade (FBK-3..5), the dissatisfied cases with
the revisit dispatch opened for each (FBK-5), and the complaints with their answer-by
time (FBK-6, three working days)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

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


async def _revisit(request: Request, user: Session, case: dict[str, Any]) -> dict[str, Any]:
    visit = await backend_of(request).get(user.token, "dispatch", f"/tickets/{case['ticket_id']}")
    return {**case, "visit": visit.body if visit.ok else None}


async def _page(request: Request, user: Session, **context: Any) -> HTMLResponse:
    backend = backend_of(request)
    morning, due, cases, complaints = await asyncio.gather(
        backend.get(user.token, "feedback", "/callbacks/morning-list"),
        backend.get(user.token, "feedback", "/callbacks", status="due"),
        backend.get(user.token, "feedback", "/cases"),
        backend.get(user.token, "feedback", "/complaints"),
    )
    problem = next((refusal(a) for a in (morning, due, cases) if not a.ok), None)
    revisits = await asyncio.gather(
        *(_revisit(request, user, c) for c in (cases.body if cases.ok else []))
    )
    return render(
        request,
        "followup.html",
        user,
        morning=morning.body if morning.ok else None,
        due=due.body if due.ok else [],
        cases=list(revisits),
        complaints=complaints.body if complaints.ok else [],
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
