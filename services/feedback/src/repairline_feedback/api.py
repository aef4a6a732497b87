"""Feedback HTTP API: callbacks, the morning list, complaints, surveys and reports.

Each route validates its body, turns it into one command and runs it, or answers from
one view.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from repairline_feedback import commands, views
from repairline_feedback.commands import Needs
from repairline_feedback.permissions import may
from repairline_feedback.schemas import (
    AnswerIn,
    AttemptIn,
    ComplaintIn,
    KeyCustomerIn,
    SampleIn,
    SurveyIn,
    VerificationIn,
)
from repairline_platform.bounds import PERIOD, CalendarDate, Year
from repairline_platform.commands import CommandResult, in_unit
from repairline_platform.runtime import Runtime
from repairline_rules.packs import PolicyPack

Command = Callable[[Any, Any, Needs], Awaitable[CommandResult]]
Status = Literal["due", "scheduled", "retry_pending", "completed", "exhausted", "all"]


def answer(result: CommandResult, id_field: str = "ticket_id") -> dict[str, Any]:
    """The command's answer; events described with their data where the command gave it."""
    body = result.answer(id_field)
    described = body.pop("described", None)
    if described is not None:
        body["events"] = [
            {**event, "event_id": event_id}
            for event, event_id in zip(described, result.event_ids, strict=True)
        ]
    return body


def routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["feedback"])

    async def do(command: Command, cmd: Any) -> CommandResult:
        needs = Needs.on_postgres(rt.pack_now)
        return await in_unit(rt.unit_of_work, lambda uow: command(cmd, uow, needs))

    _callback_routes(router, rt, do)
    _complaint_routes(router, rt, do)
    _survey_and_report_routes(router, rt, do)
    return router


Do = Callable[[Command, Any], Awaitable[CommandResult]]


def network_pack(rt: Runtime, on: date | None = None) -> PolicyPack:
    """The pack of lists and reports over many tickets (whose own packs decided their
    callbacks): the deployment's default pack in force on `on` (else now), for the day,
    month and year bounds in its time zone and its targets (FBK-2, FBK-7)."""
    default = rt.routing.default
    return rt.packs.in_force(default, on) if on else rt.pack_opened(default, rt.clock.now())


def _callback_routes(router: APIRouter, rt: Runtime, do: Do) -> None:
    """Callbacks (FBK-1..5), the morning list and its coverage, key customers, cases."""

    def today() -> date:
        return rt.clock.now().astimezone(network_pack(rt).zone).date()

    @router.get("/callbacks", dependencies=[may("callback.read")])
    async def callbacks(
        status: Annotated[Status, Query()] = "due",
        ticket_id: str | None = Query(default=None),
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        """Callbacks on the list; by default those due now, oldest first."""
        return await views.callbacks(rt.pool, status, ticket_id, limit)

    @router.post("/callbacks/{callback_id}/attempts", dependencies=[may("callback.record")])
    async def attempt(callback_id: str, body: AttemptIn) -> dict[str, Any]:
        """FBK-3..5: the customer was called. Not reached: retried later. Reached: the FBK-4
        answers and the grade; dissatisfied sends someone on site (RevisitRequested)
        and schedules two more callbacks."""
        result = await do(commands.record_callback, body.command(callback_id))
        return {**await views.callback(rt.pool, callback_id), **answer(result)}

    @router.get("/callbacks/morning-list", dependencies=[may("callback.read")])
    async def morning_list(on: Annotated[CalendarDate | None, Query()] = None) -> dict[str, Any]:
        """FBK-2 (water-heater): every customer served in the last week without a valid
        callback, plus key customers, plus callbacks due by the end of the day."""
        day = on or today()
        return await views.morning_list(rt.pool, network_pack(rt, day), day)

    @router.get("/reports/callback-coverage", dependencies=[may("report.read")])
    async def coverage(
        from_: Annotated[CalendarDate, Query(alias="from")],
        to: Annotated[CalendarDate, Query(description="Inclusive.")],
    ) -> dict[str, Any]:
        """FBK-2: share of customers served in the range who were actually reached."""
        return await views.coverage(rt.pool, network_pack(rt, to), from_, to)

    @router.put("/key-customers/{name}", dependencies=[may("key_customer.change")])
    async def put_key_customer(name: str, body: KeyCustomerIn) -> dict[str, Any]:
        """A key customer (by organisation or name): always on the morning list (FBK-2)."""
        result = await do(commands.note_key_customer, body.command(name))
        return {**answer(result, "stream_id"), **await views.key_customer(rt.pool, name)}

    @router.get("/cases", dependencies=[may("case.read")])
    async def cases(ticket_id: str | None = Query(default=None)) -> list[dict[str, Any]]:
        """FBK-5: dissatisfied cases that sent someone on site."""
        return await views.cases(rt.pool, ticket_id)


def _complaint_routes(router: APIRouter, rt: Runtime, do: Do) -> None:
    """Complaints (FBK-6): filed, answered, verified or dismissed."""

    @router.post("/complaints", status_code=201, dependencies=[may("complaint.file")])
    async def file_complaint(body: ComplaintIn) -> dict[str, Any]:
        """FBK-6: a complaint from any channel, classified; answered within 3 working
        days or escalated. Verified ones go to billing (PEN-1, FEE-5)."""
        result = await do(commands.file_complaint, body.command())
        filed = await views.complaint(rt.pool, result.data["complaint_id"])
        return {**answer(result, "stream_id"), **filed}

    @router.get("/complaints", dependencies=[may("complaint.read")])
    async def list_complaints(
        ticket_id: str | None = Query(default=None),
        kind: str | None = Query(default=None),
    ) -> list[dict[str, Any]]:
        """FBK-6: complaints, by ticket or kind, in the order filed."""
        return await views.complaints(rt.pool, ticket_id, kind)

    @router.get("/complaints/{complaint_id}", dependencies=[may("complaint.read")])
    async def get_complaint(complaint_id: str) -> dict[str, Any]:
        """FBK-6: one complaint, its answer clock and outcome."""
        return await views.complaint(rt.pool, complaint_id)

    @router.post("/complaints/{complaint_id}/answer", dependencies=[may("complaint.answer")])
    async def answer_complaint(complaint_id: str, body: AnswerIn) -> dict[str, Any]:
        """FBK-6: the customer was answered (apologise, listen, restate, resolve)."""
        result = await do(commands.answer_complaint, body.command(complaint_id))
        return {**answer(result, "stream_id"), **await views.complaint(rt.pool, complaint_id)}

    @router.post("/complaints/{complaint_id}/verification", dependencies=[may("complaint.verify")])
    async def verify(complaint_id: str, body: VerificationIn) -> dict[str, Any]:
        """The complaint was looked into: verified (to PEN-1 / FEE-5) or dismissed."""
        result = await do(commands.verify_complaint, body.command(complaint_id))
        return {**answer(result, "stream_id"), **await views.complaint(rt.pool, complaint_id)}


def _survey_and_report_routes(router: APIRouter, rt: Runtime, do: Do) -> None:
    """The yearly survey (FBK-7, WAR-11) and the monthly callback report (PEN-8)."""

    @router.get("/reports/survey-sample", dependencies=[may("report.read")])
    async def survey_sample(
        year: Annotated[Year, Query()], percent: int = Query(default=10, ge=1, le=100)
    ) -> dict[str, Any]:
        """FBK-7: the year's drawn sample; before it is drawn, a preview of it at `percent`."""
        return await views.survey_sample(rt.pool, network_pack(rt), year, percent)

    @router.post("/survey-samples", status_code=201, dependencies=[may("survey.draw")])
    async def draw_sample(body: SampleIn) -> dict[str, Any]:
        """FBK-7: draw and fix the year's survey sample (`SurveySampleDrawn`); once only."""
        result = await do(commands.draw_sample, body.command())
        return {**answer(result, "stream_id"), **await views.drawn_sample(rt.pool, body.year)}

    @router.get("/survey-samples/{year}", dependencies=[may("report.read")])
    async def get_sample(year: Year) -> dict[str, Any]:
        """FBK-7: the year's drawn sample."""
        return await views.drawn_sample(rt.pool, year)

    @router.post("/surveys/{ticket_id}", status_code=201, dependencies=[may("survey.answer")])
    async def answer_survey(ticket_id: str, body: SurveyIn) -> dict[str, Any]:
        """FBK-7 survey answer, from a customer in the year's drawn sample only; WAR-11
        reward when judged constructive."""
        return answer(await do(commands.answer_survey, body.command(ticket_id)))

    @router.get("/reports/callbacks", response_model=None, dependencies=[may("report.read")])
    async def callback_report(
        month: str = Query(pattern=PERIOD),
        by: Literal["region", "outlet", "engineer"] = Query(default="engineer"),
        format: Literal["json", "csv"] = Query(default="json"),
    ) -> Any:
        """FBK-7: the monthly callback report and satisfaction figures per region, outlet
        or engineer (PEN-8 feeds on the same figures), as JSON or CSV."""
        rows = await views.callback_report(rt.pool, network_pack(rt), month, by)
        if format == "csv":
            return PlainTextResponse(views.report_csv(rows, by), media_type="text/csv")
        return {"month": month, "by": by, "rule_ids": ["FBK-7", "PEN-8"], "rows": rows}
