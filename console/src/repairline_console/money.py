"""Money, for billing and quality: a ticket's quotes and charge with each line's rule, the
penalty ledger of an engineer or an outlet (PEN-1..7), an outlet's monthly settlement
(FEE-6) with its CSV, all read from billing with the signed-in user's token."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from repairline_console.backend import Answer
from repairline_console.web import Session, User, backend_of, refusal, render

router = APIRouter()

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
IDENTIFIER = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# who may appeal a penalty and who rules on it (billing's penalty.appeal, penalty.rule)
APPEALS = ("billing", "engineer")
RULES = ("quality",)


def _clean(value: str | None, pattern: re.Pattern[str] = IDENTIFIER) -> str | None:
    value = (value or "").strip()
    return value if value and pattern.match(value) else None


async def _none() -> Answer:
    return Answer(204, None)


def _shown(answer: Answer) -> tuple[Any, str | None]:
    """The body when there is one; the refusal in one line when the service said no
    (a 204 here means the page did not ask)."""
    if answer.status == 204:
        return None, None
    return (answer.body, None) if answer.ok else (None, refusal(answer))


@router.get("/money", response_class=HTMLResponse)
async def money_page(
    request: Request,
    user: User,
    ticket: str | None = None,
    engineer: str | None = None,
    outlet: str | None = None,
    period: str | None = None,
) -> HTMLResponse:
    query = {"ticket": ticket, "engineer": engineer, "outlet": outlet, "period": period}
    return await _page(request, user, query)


def cleaned_query(query: dict[str, str | None], user: Session) -> dict[str, str | None]:
    """The page's query, each value checked; an engineer without one reads his own ledger."""
    out = {k: _clean(query.get(k)) for k in ("ticket", "engineer", "outlet")}
    out["period"] = _clean(query.get("period"), PERIOD)
    if not any(out.values()) and user.principal.engineer_id:
        out["engineer"] = user.principal.engineer_id
    return out


async def _page(
    request: Request, user: Session, query: dict[str, str | None], **context: Any
) -> HTMLResponse:
    query = cleaned_query(query, user)
    ticket, engineer, outlet, period = (
        query[k] for k in ("ticket", "engineer", "outlet", "period")
    )
    get = backend_of(request).get
    answers = await asyncio.gather(
        get(user.token, "billing", f"/tickets/{ticket}/charge") if ticket else _none(),
        get(user.token, "billing", f"/tickets/{ticket}/quotes") if ticket else _none(),
        get(user.token, "billing", f"/engineers/{engineer}/ledger") if engineer else _none(),
        get(user.token, "billing", f"/outlets/{outlet}/ledger") if outlet else _none(),
        get(user.token, "billing", f"/outlets/{outlet}/settlements/{period}")
        if outlet and period
        else _none(),
    )
    shown = [_shown(a) for a in answers]
    names = ("charge", "quotes", "engineer_ledger", "outlet_ledger", "statement")
    return render(
        request,
        "money.html",
        user,
        query=query,
        may_appeal=user.has(*APPEALS),
        may_rule=user.has(*RULES),
        problems={n: s[1] for n, s in zip(names, shown, strict=True) if s[1]},
        **{n: s[0] for n, s in zip(names, shown, strict=True)},
        **context,
    )


def ruling_body(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """PEN-1..7: a manager's ruling (void or uphold, with the reason), and what the page
    refuses before asking billing."""
    errors: dict[str, str] = {}
    if form.get("void") not in ("yes", "no"):
        errors["void"] = "void or uphold"
    reason = (form.get("reason") or "").strip()
    if not reason:
        errors["reason"] = "a reason is needed"
    return {"void": form.get("void") == "yes", "reason": reason}, errors


async def _penalty_command(
    request: Request, user: Session, penalty_id: str, action: str, body_of: Any
) -> HTMLResponse:
    form = {k: str(v) for k, v in (await request.form()).items()}
    query = {k: form.get(k) for k in ("ticket", "engineer", "outlet", "period")}
    body, errors = body_of(form)
    if errors or not _clean(penalty_id):
        errors = errors or {"penalty_id": "unknown"}
        return await _page(request, user, query, field_errors=errors, status_code=422)
    path = f"/penalties/{penalty_id}/{action}"
    answer = await backend_of(request).post(user.token, "billing", path, body)
    if not answer.ok:
        return await _page(
            request, user, query, command_problem=refusal(answer), status_code=answer.status
        )
    return await _page(request, user, query, done=action)


def appeal_body(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The penalised engineer's (or billing's) appeal: its reason is required."""
    reason = (form.get("reason") or "").strip()
    return {"reason": reason}, ({} if reason else {"reason": "a reason is needed"})


@router.post("/money/penalties/{penalty_id}/appeal", response_class=HTMLResponse)
async def appeal(request: Request, user: User, penalty_id: str) -> HTMLResponse:
    """The engineer or billing appeals a penalty; a quality manager rules on it."""
    return await _penalty_command(request, user, penalty_id, "appeal", appeal_body)


@router.post("/money/penalties/{penalty_id}/ruling", response_class=HTMLResponse)
async def ruling(request: Request, user: User, penalty_id: str) -> HTMLResponse:
    """A quality manager voids or upholds an appealed penalty (never deleted)."""
    return await _penalty_command(request, user, penalty_id, "ruling", ruling_body)


@router.get("/money/settlement.csv")
async def settlement_csv(request: Request, user: User, outlet: str, period: str) -> Response:
    """FEE-6: the statement as billing writes it in CSV (amounts in yuan)."""
    outlet_id, month = _clean(outlet), _clean(period, PERIOD)
    if not outlet_id or not month:
        return PlainTextResponse("outlet and period (YYYY-MM) are needed", status_code=422)
    answer = await backend_of(request).get(
        user.token, "billing", f"/outlets/{outlet_id}/settlements/{month}", format="csv"
    )
    if not answer.ok:
        return PlainTextResponse(refusal(answer), status_code=answer.status)
    return PlainTextResponse(
        str(answer.body),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{outlet_id}-{month}.csv"'},
    )
