"""Feedback HTTP API: callbacks, the morning list, complaints, surveys and reports."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from repairline_contracts.feedback import (
    CallbackAnswers,
    ComplaintChannel,
    ComplaintKind,
    Grade,
    SurveySampleDrawn,
)
from repairline_feedback import domain
from repairline_feedback.handlers import CALLBACK_TIMER, COMPLAINT_TIMER
from repairline_platform.http import Conflict, NotFound
from repairline_platform.logging import get_logger
from repairline_platform.runtime import Runtime
from repairline_rules import surveys

log = get_logger(__name__)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttemptIn(_In):
    reached: bool = Field(description="FBK-3: only a reached customer makes a valid callback.")
    answers: CallbackAnswers = Field(default_factory=CallbackAnswers, description="FBK-4.")
    grade: Grade | None = Field(default=None, description="FBK-5, when reached.")
    reason: str | None = Field(default=None, max_length=2000, description="FBK-5: why.")

    @model_validator(mode="after")
    def _graded_when_reached(self) -> AttemptIn:
        if self.reached and self.grade is None:
            raise ValueError("a reached customer's callback needs a grade (FBK-5)")
        if self.grade == "dissatisfied" and not (self.reason or "").strip():
            raise ValueError("a dissatisfied callback needs its reason (FBK-5)")
        return self


class ComplaintIn(_In):
    ticket_id: str = Field(min_length=1)
    channel: ComplaintChannel
    kind: ComplaintKind
    description: str = Field(min_length=1, max_length=4000)
    engineer_id: str | None = Field(default=None, description="Default: the ticket's engineer.")
    amount_paid_fen: int | None = Field(default=None, ge=0, description="Overcharge: paid.")


class AnswerIn(_In):
    answer: str = Field(min_length=1, max_length=4000)


class VerificationIn(_In):
    verified: bool
    finding: str = Field(min_length=1, max_length=4000)


class SurveyIn(_In):
    year: int = Field(ge=2000, le=2100)
    grade: Grade
    answer: str = Field(min_length=1, max_length=4000)
    constructive: bool = Field(description="WAR-11: judged constructive by the service manager.")
    reward: Literal["free_repair", "warranty_extension"] = "free_repair"


class SampleIn(_In):
    year: int = Field(ge=2000, le=2100)
    percent: int = Field(default=10, ge=1, le=100, description="FBK-7: share of customers.")


class KeyCustomerIn(_In):
    note: str = ""


def _j(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _callback(r: Any) -> dict[str, Any]:
    return {
        "callback_id": r["callback_id"],
        "ticket_id": r["ticket_id"],
        "reason": r["reason"],
        "status": r["status"],
        "due_at": _iso(r["due_at"]),
        "fired_at": _iso(r["fired_at"]),
        "attempt": r["due_attempt"],
        "unreached_attempts": r["attempts"],
        "retry_at": _iso(r["retry_at"]),
        "grade": r["grade"],
        "answers": _j(r["answers"]),
        "outcome_reason": r["outcome_reason"],
        "completed_at": _iso(r["completed_at"]),
        "decision": _j(r["decision"]),
    }


def _complaint(r: Any) -> dict[str, Any]:
    if r["verified"] is not None:
        status = "verified" if r["verified"] else "dismissed"
    elif r["answered_at"] is not None:
        status = "answered"
    else:
        status = "escalated" if r["escalated_at"] is not None else "open"
    return {
        "complaint_id": r["complaint_id"],
        "ticket_id": r["ticket_id"],
        "status": status,
        "channel": r["channel"],
        "kind": r["kind"],
        "description": r["description"],
        "engineer_id": r["engineer_id"],
        "outlet_id": r["outlet_id"],
        "amount_paid_fen": r["amount_paid_fen"],
        "answer_by": _iso(r["answer_by"]),
        "answered_at": _iso(r["answered_at"]),
        "within_deadline": r["within_deadline"],
        "escalated_at": _iso(r["escalated_at"]),
        "verified": r["verified"],
        "finding": r["finding"],
        "triggers": list(r["triggers"] or []),
        "decision": _j(r["decision"]),
    }


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") if row.get(c) is not None else "" for c in columns])
    return out.getvalue()


def routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["feedback"])

    def _zone() -> Any:
        return rt.pack.zone

    def _local_day(day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, time(0, 0), tzinfo=_zone())
        return start, start + timedelta(days=1)

    def _today() -> date:
        return rt.clock.now().astimezone(_zone()).date()

    # -- callbacks (FBK-1..5) ----------------------------------------------------------

    @router.get("/callbacks")
    async def callbacks(
        status: Literal["due", "scheduled", "retry_pending", "completed", "exhausted", "all"] = (
            Query(default="due")
        ),
        ticket_id: str | None = Query(default=None),
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        """Callbacks on the list; by default those due now, oldest first."""
        rows = await rt.pool.fetch(
            "select * from callbacks where ($1 = 'all' or status = $1)"
            " and ($2::text is null or ticket_id = $2) order by due_at, callback_id limit $3",
            status,
            ticket_id,
            limit,
        )
        return [_callback(r) for r in rows]

    @router.post("/callbacks/{callback_id}/attempts")
    async def attempt(callback_id: str, body: AttemptIn) -> dict[str, Any]:
        """FBK-3..5: the customer was called. Not reached: retried later. Reached: the FBK-4
        answers and the grade; dissatisfied sends someone on site (RevisitRequested)
        and schedules two more callbacks."""
        row = await rt.pool.fetchrow(
            "select ticket_id from callbacks where callback_id = $1", callback_id
        )
        if row is None:
            raise NotFound(f"no callback {callback_id}")
        ticket_id = row["ticket_id"]
        cid = str(uuid.uuid4())
        async with rt.unit_of_work() as uow:
            events = await uow.load_stream(ticket_id)
            callback = domain.callbacks_of(events).get(callback_id)
            if callback is None:
                raise NotFound(f"no callback {callback_id}")
            served = await uow.conn.fetchrow(
                "select region, engineer_id, coalesce(service_point_id, outlet_id) as outlet_id"
                " from served where ticket_id = $1",
                ticket_id,
            )
            region = served["region"] if served else None
            try:
                if not body.reached:
                    new = [
                        domain.decide_unreached(
                            rt.pack, callback, ticket_id=ticket_id, now=uow.now()
                        )
                    ]
                else:
                    new = domain.decide_outcome(
                        rt.pack,
                        callback,
                        domain.Outcome(body.answers, body.grade or "", body.reason),
                        ticket_id=ticket_id,
                        engineer_id=served["engineer_id"] if served else None,
                        outlet_id=served["outlet_id"] if served else None,
                        case_id=f"CASE-{uuid.uuid4().hex[:12]}",
                        now=uow.now(),
                    )
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state) from exc
            envs = await uow.append(
                ticket_id,
                new,
                expected_version=len(events),
                correlation_id=cid,
                causation_id=f"http:{cid}",
                region=region,
            )
            for event in new:
                retry_at = getattr(event, "retry_at", None)
                if event.event_type.endswith("CallbackAttempted") and retry_at is not None:
                    # FBK-3: the same callback comes due again
                    await uow.schedule(
                        f"{callback_id}:retry:{callback.due_attempt + 1}",
                        kind=CALLBACK_TIMER,
                        stream_id=ticket_id,
                        due_at=retry_at,
                        payload={
                            "callback_id": callback_id,
                            "due_at": retry_at.isoformat(),
                            "attempt": callback.due_attempt + 1,
                        },
                        correlation_id=cid,
                    )
                elif event.event_type.endswith("CallbackScheduled"):
                    await uow.schedule(
                        event.callback_id,  # type: ignore[attr-defined]
                        kind=CALLBACK_TIMER,
                        stream_id=ticket_id,
                        due_at=event.due_at,  # type: ignore[attr-defined]
                        payload={
                            "callback_id": event.callback_id,  # type: ignore[attr-defined]
                            "due_at": event.due_at.isoformat(),  # type: ignore[attr-defined]
                            "attempt": 1,
                        },
                        correlation_id=cid,
                    )
        log.info(
            "callback recorded",
            ticket_id=ticket_id,
            correlation_id=cid,
            events=[e.type for e in envs],
        )
        result = await rt.pool.fetchrow(
            "select * from callbacks where callback_id = $1", callback_id
        )
        return {
            **_callback(result),
            "events": [{"type": e.type, "event_id": e.id, "data": e.data} for e in envs],
        }

    @router.get("/callbacks/morning-list")
    async def morning_list(on: Annotated[date | None, Query()] = None) -> dict[str, Any]:
        """FBK-2 (water-heater): every customer served in the last week without a valid
        callback, plus key customers, plus callbacks due by the end of the day."""
        day = on or _today()
        start, end = _local_day(day)
        rows = await rt.pool.fetch(
            """
            with valid as (
                select distinct ticket_id from callbacks where completed_at is not null
            )
            select s.ticket_id, s.customer_name, s.mobile, s.phone, s.organisation,
                   s.engineer_id, s.completed_at,
                   (s.ticket_id in (select ticket_id from valid)) as reached,
                   (s.key_account_id is not null or exists (select 1 from key_customers k
                           where k.name = s.organisation or k.name = s.customer_name)) as key
            from served s
            where s.completed_at is not null
              and ((s.completed_at >= $1 and s.completed_at < $2)
                   or s.key_account_id is not null
                   or exists (select 1 from key_customers k
                              where k.name = s.organisation or k.name = s.customer_name))
            order by s.completed_at, s.ticket_id
            """,
            start - timedelta(days=7),
            start,
        )
        due = await rt.pool.fetch(
            "select * from callbacks where status in ('due', 'scheduled') and due_at < $1"
            " order by due_at, callback_id",
            end,
        )
        calls = [
            {
                "ticket_id": r["ticket_id"],
                "customer_name": r["customer_name"],
                "mobile": r["mobile"],
                "phone": r["phone"],
                "organisation": r["organisation"],
                "engineer_id": r["engineer_id"],
                "served_at": _iso(r["completed_at"]),
                "key_customer": r["key"],
                "reached": r["reached"],
            }
            for r in rows
        ]
        week = [r for r in rows if start - timedelta(days=7) <= r["completed_at"] < start]
        reached = sum(1 for r in week if r["reached"])
        return {
            "on": day.isoformat(),
            "rule_ids": ["FBK-2"],
            "to_call": [c for c in calls if not c["reached"] or c["key_customer"]],
            "callbacks_due": [_callback(r) for r in due],
            "coverage": {
                "served_last_week": len(week),
                "reached": reached,
                "percent": domain.percent(reached, len(week)),
                "target_percent": rt.pack.followup.after_service.coverage_percent,
            },
        }

    @router.get("/reports/callback-coverage")
    async def coverage(
        from_: Annotated[date, Query(alias="from")],
        to: Annotated[date, Query(description="Inclusive.")],
    ) -> dict[str, Any]:
        """FBK-2: share of customers served in the range who were actually reached."""
        start, _ = _local_day(from_)
        _, end = _local_day(to)
        rows = await rt.pool.fetch(
            "select s.ticket_id, exists (select 1 from callbacks c where c.ticket_id ="
            " s.ticket_id and c.completed_at is not null) as reached from served s"
            " where s.completed_at >= $1 and s.completed_at < $2 order by s.ticket_id",
            start,
            end,
        )
        reached = [r["ticket_id"] for r in rows if r["reached"]]
        return {
            "from": from_.isoformat(),
            "to": to.isoformat(),
            "served": len(rows),
            "reached": len(reached),
            "percent": domain.percent(len(reached), len(rows)),
            "target_percent": rt.pack.followup.after_service.coverage_percent,
            "not_reached": [r["ticket_id"] for r in rows if not r["reached"]],
        }

    @router.put("/key-customers/{name}")
    async def put_key_customer(name: str, body: KeyCustomerIn) -> dict[str, Any]:
        """A key customer (by organisation or name): always on the morning list (FBK-2)."""
        await rt.pool.execute(
            "insert into key_customers values ($1, $2) on conflict (name)"
            " do update set note = excluded.note",
            name,
            body.note,
        )
        return {"name": name, "note": body.note}

    @router.get("/cases")
    async def cases(ticket_id: str | None = Query(default=None)) -> list[dict[str, Any]]:
        """FBK-5: dissatisfied cases that sent someone on site."""
        rows = await rt.pool.fetch(
            "select * from cases where ($1::text is null or ticket_id = $1) order by requested_at",
            ticket_id,
        )
        return [
            {
                **{
                    k: r[k]
                    for k in (
                        "case_id",
                        "ticket_id",
                        "reason",
                        "engineer_id",
                        "outlet_id",
                        "event_id",
                    )
                },
                "requested_at": _iso(r["requested_at"]),
                "decision": _j(r["decision"]),
            }
            for r in rows
        ]

    # -- complaints (FBK-6) ------------------------------------------------------------

    @router.post("/complaints", status_code=201)
    async def file_complaint(body: ComplaintIn) -> dict[str, Any]:
        """FBK-6: a complaint from any channel, classified; answered within 3 working
        days or escalated. Verified ones go to billing (PEN-1, FEE-5)."""
        complaint_id = f"C-{uuid.uuid4().hex[:12]}"
        cid = str(uuid.uuid4())
        async with rt.unit_of_work() as uow:
            served = await uow.conn.fetchrow(
                "select region, engineer_id, coalesce(service_point_id, outlet_id) as outlet_id"
                " from served where ticket_id = $1",
                body.ticket_id,
            )
            filed = domain.decide_complaint(
                rt.pack,
                complaint_id=complaint_id,
                ticket_id=body.ticket_id,
                channel=body.channel,
                kind=body.kind,
                description=body.description,
                engineer_id=body.engineer_id or (served["engineer_id"] if served else None),
                outlet_id=served["outlet_id"] if served else None,
                amount_paid_fen=body.amount_paid_fen,
                now=uow.now(),
            )
            stream = domain.complaint_stream(complaint_id)
            await uow.append(
                stream,
                [filed],
                expected_version=0,
                correlation_id=cid,
                causation_id=f"http:{cid}",
                region=served["region"] if served else None,
            )
            await uow.schedule(
                f"complaint:{complaint_id}",
                kind=COMPLAINT_TIMER,
                stream_id=stream,
                due_at=filed.answer_by,
                payload={"complaint_id": complaint_id},
                correlation_id=cid,
            )
        return await get_complaint(complaint_id)

    @router.get("/complaints")
    async def list_complaints(
        ticket_id: str | None = Query(default=None),
        kind: str | None = Query(default=None),
    ) -> list[dict[str, Any]]:
        rows = await rt.pool.fetch(
            "select * from complaints where ($1::text is null or ticket_id = $1)"
            " and ($2::text is null or kind = $2) order by filed_at, complaint_id",
            ticket_id,
            kind,
        )
        return [_complaint(r) for r in rows]

    @router.get("/complaints/{complaint_id}")
    async def get_complaint(complaint_id: str) -> dict[str, Any]:
        row = await rt.pool.fetchrow(
            "select * from complaints where complaint_id = $1", complaint_id
        )
        if row is None:
            raise NotFound(f"no complaint {complaint_id}")
        return _complaint(row)

    async def _complaint_command(complaint_id: str, decide: Any) -> dict[str, Any]:
        cid = str(uuid.uuid4())
        stream = domain.complaint_stream(complaint_id)
        async with rt.unit_of_work() as uow:
            events = await uow.load_stream(stream)
            complaint = domain.fold_complaint(events)
            if complaint is None:
                raise NotFound(f"no complaint {complaint_id}")
            try:
                event = decide(complaint, uow.now())
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state) from exc
            await uow.append(
                stream,
                [event],
                expected_version=len(events),
                correlation_id=cid,
                causation_id=f"http:{cid}",
            )
        return await get_complaint(complaint_id)

    @router.post("/complaints/{complaint_id}/answer")
    async def answer(complaint_id: str, body: AnswerIn) -> dict[str, Any]:
        """FBK-6: the customer was answered (apologise, listen, restate, resolve)."""
        return await _complaint_command(
            complaint_id, lambda c, now: domain.decide_answer(c, answer=body.answer, now=now)
        )

    @router.post("/complaints/{complaint_id}/verification")
    async def verify(complaint_id: str, body: VerificationIn) -> dict[str, Any]:
        """The complaint was looked into: verified (to PEN-1 / FEE-5) or dismissed."""
        return await _complaint_command(
            complaint_id,
            lambda c, now: domain.decide_verification(
                c, verified=body.verified, finding=body.finding, now=now
            ),
        )

    # -- surveys and reports (FBK-7, WAR-11, PEN-8) ------------------------------------

    async def _served_in(conn: Any, year: int) -> list[str]:
        start = datetime(year, 1, 1, tzinfo=_zone())
        end = datetime(year + 1, 1, 1, tzinfo=_zone())
        rows = await conn.fetch(
            "select ticket_id from served where completed_at >= $1 and completed_at < $2",
            start,
            end,
        )
        return [r["ticket_id"] for r in rows]

    async def _drawn(uow: Any, year: int) -> SurveySampleDrawn | None:
        for event in await uow.load_stream(domain.survey_stream(year)):
            if isinstance(event, SurveySampleDrawn):
                return event
        return None

    def _sample(drawn: SurveySampleDrawn) -> dict[str, Any]:
        return {
            "year": drawn.survey_year,
            "percent": drawn.percent,
            "population": drawn.population,
            "sample": list(drawn.sample),
            "reason": drawn.reason,
            "drawn": True,
            "drawn_at": drawn.drawn_at.isoformat(),
            **drawn.decision.model_dump(mode="json"),
        }

    @router.get("/reports/survey-sample")
    async def survey_sample(
        year: int = Query(ge=2000, le=2100), percent: int = Query(default=10, ge=1, le=100)
    ) -> dict[str, Any]:
        """FBK-7: the year's drawn sample; before it is drawn, a preview of it at `percent`."""
        async with rt.unit_of_work() as uow:
            drawn = await _drawn(uow, year)
            if drawn is not None:
                return _sample(drawn)
            ticket_ids = await _served_in(uow.conn, year)
        decided = surveys.survey_sample(rt.pack, year=year, ticket_ids=ticket_ids, percent=percent)
        return {**decided.model_dump(mode="json"), "drawn": False}

    @router.post("/survey-samples", status_code=201)
    async def draw_sample(body: SampleIn) -> dict[str, Any]:
        """FBK-7: draw and fix the year's survey sample (`SurveySampleDrawn`); once only."""
        cid = str(uuid.uuid4())
        async with rt.unit_of_work() as uow:
            try:
                drawn = domain.decide_sample(
                    rt.pack,
                    year=body.year,
                    ticket_ids=await _served_in(uow.conn, body.year),
                    percent=body.percent,
                    drawn=await _drawn(uow, body.year),
                    now=uow.now(),
                )
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state) from exc
            await uow.append(
                domain.survey_stream(body.year),
                [drawn],
                expected_version=0,
                correlation_id=cid,
                causation_id=f"http:{cid}",
            )
        return _sample(drawn)

    @router.get("/survey-samples/{year}")
    async def get_sample(year: int) -> dict[str, Any]:
        async with rt.unit_of_work() as uow:
            drawn = await _drawn(uow, year)
        if drawn is None:
            raise NotFound(f"no survey sample drawn for {year}")
        return _sample(drawn)

    @router.post("/surveys/{ticket_id}", status_code=201)
    async def answer_survey(ticket_id: str, body: SurveyIn) -> dict[str, Any]:
        """FBK-7 survey answer, from a customer in the year's drawn sample only; WAR-11
        reward when judged constructive."""
        cid = str(uuid.uuid4())
        async with rt.unit_of_work() as uow:
            served = await uow.conn.fetchrow("select * from served where ticket_id = $1", ticket_id)
            if served is None:
                raise NotFound(f"feedback has no ticket {ticket_id}")
            try:
                domain.check_sampled(
                    await _drawn(uow, body.year), ticket_id=ticket_id, year=body.year
                )
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state) from exc
            new = domain.decide_survey(
                rt.pack,
                ticket_id=ticket_id,
                year=body.year,
                grade=body.grade,
                answer=body.answer,
                constructive=body.constructive,
                reward=body.reward,
                product_line=served["product_line"],
                purchase_date=served["purchase_date"],
                serial_no=served["serial_no"],
                now=uow.now(),
            )
            envs = await uow.append(
                ticket_id,
                new,
                correlation_id=cid,
                causation_id=f"http:{cid}",
                region=served["region"],
            )
        return {"ticket_id": ticket_id, "events": [{"type": e.type, "data": e.data} for e in envs]}

    @router.get("/reports/callbacks", response_model=None)
    async def callback_report(
        month: str = Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
        by: Literal["region", "outlet", "engineer"] = Query(default="engineer"),
        format: Literal["json", "csv"] = Query(default="json"),
    ) -> Any:
        """FBK-7: the monthly callback report and satisfaction figures per region, outlet
        or engineer (PEN-8 feeds on the same figures), as JSON or CSV."""
        year, mon = (int(p) for p in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=_zone())
        end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=_zone())
        key = {
            "region": "s.region",
            "outlet": "coalesce(s.service_point_id, s.outlet_id)",
            "engineer": "s.engineer_id",
        }[by]
        rows = await rt.pool.fetch(
            f"""
            select coalesce({key}, '(unknown)') as key,
                count(*) as callbacks_due,
                count(*) filter (where c.completed_at is not null) as valid,
                coalesce(sum(c.attempts), 0) as not_reached,
                count(*) filter (where c.exhausted) as exhausted,
                count(*) filter (where c.grade = 'satisfied') as satisfied,
                count(*) filter (where c.grade = 'average') as average,
                count(*) filter (where c.grade = 'dissatisfied') as dissatisfied
            from callbacks c left join served s using (ticket_id)
            where c.fired_at >= $1 and c.fired_at < $2
            group by 1 order by 1
            """,
            start,
            end,
        )
        complaints = {
            r["key"]: r
            for r in await rt.pool.fetch(
                f"""
                select coalesce({key.replace("s.engineer_id", "p.engineer_id")}, '(unknown)')
                       as key,
                    count(*) as filed,
                    count(*) filter (where p.verified) as verified,
                    count(*) filter (where p.escalated_at is not null) as escalated
                from complaints p left join served s using (ticket_id)
                where p.filed_at >= $1 and p.filed_at < $2 group by 1
                """,
                start,
                end,
            )
        }
        report = []
        for r in rows:
            graded = r["satisfied"] + r["average"] + r["dissatisfied"]
            c = complaints.pop(r["key"], None)
            report.append(
                {
                    by: r["key"],
                    "callbacks_due": r["callbacks_due"],
                    "valid_callbacks": r["valid"],
                    "not_reached_attempts": r["not_reached"],
                    "exhausted": r["exhausted"],
                    "satisfied": r["satisfied"],
                    "average": r["average"],
                    "dissatisfied": r["dissatisfied"],
                    "satisfaction_percent": domain.percent(r["satisfied"], graded),
                    "complaints_filed": c["filed"] if c else 0,
                    "complaints_verified": c["verified"] if c else 0,
                    "complaints_escalated": c["escalated"] if c else 0,
                }
            )
        for k, c in complaints.items():
            report.append(
                {
                    by: k,
                    "callbacks_due": 0,
                    "valid_callbacks": 0,
                    "not_reached_attempts": 0,
                    "exhausted": 0,
                    "satisfied": 0,
                    "average": 0,
                    "dissatisfied": 0,
                    "satisfaction_percent": "",
                    "complaints_filed": c["filed"],
                    "complaints_verified": c["verified"],
                    "complaints_escalated": c["escalated"],
                }
            )
        report = [
            row
            for row in report
            if row["callbacks_due"]
            or row["valid_callbacks"]
            or row["complaints_filed"]
            or row["not_reached_attempts"]
        ]
        if format == "csv":
            columns = [
                by,
                "callbacks_due",
                "valid_callbacks",
                "not_reached_attempts",
                "exhausted",
                "satisfied",
                "average",
                "dissatisfied",
                "satisfaction_percent",
                "complaints_filed",
                "complaints_verified",
                "complaints_escalated",
            ]
            return PlainTextResponse(_csv(report, columns), media_type="text/csv")
        return {"month": month, "by": by, "rule_ids": ["FBK-7", "PEN-8"], "rows": report}

    return router
