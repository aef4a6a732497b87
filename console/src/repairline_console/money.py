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
from repairline_console.web import User, backend_of, refusal, render

router = APIRouter()

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
IDENTIFIER = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


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
    ticket, engineer, outlet = _clean(ticket), _clean(engineer), _clean(outlet)
    period = _clean(period, PERIOD)
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
        query={"ticket": ticket, "engineer": engineer, "outlet": outlet, "period": period},
        problems={n: s[1] for n, s in zip(names, shown, strict=True) if s[1]},
        **{n: s[0] for n, s in zip(names, shown, strict=True)},
    )


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
