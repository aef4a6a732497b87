"""Feedback's commands: one function each, `async def x(cmd, uow, needs) -> CommandResult`,
run through the platform's one command path (`repairline_platform.commands.run`).

Routes run them in a unit of work of their own with `commands.in_unit` (which retries on
a concurrent write); reactions and timers inside the unit they hold. The durable timers
a command's events call for (a callback's due time, a complaint's answer deadline) are
scheduled in the same unit as the events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from repairline_contracts.base import Event, event_payload
from repairline_contracts.feedback import CallbackAttempted, CallbackScheduled, ComplaintFiled
from repairline_feedback.domain import complaint, followup, key_customer, sample
from repairline_feedback.store import PostgresStore, Store
from repairline_platform import visibility
from repairline_platform.commands import (
    CommandResult,
    CommandUnit,
    Stream,
    run,
    schedule_timers,
)
from repairline_platform.logging import get_logger
from repairline_platform.policy import bound_or
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import NotFound
from repairline_rules.timers import Due

log = get_logger(__name__)

CALLBACK_TIMER = "callback_due"
COMPLAINT_TIMER = "complaint_deadline"

FOLLOW_UP = Stream("ticket", followup.fold)
COMPLAINT = Stream("complaint", complaint.fold)
SAMPLE = Stream("survey sample", sample.fold)
KEY_CUSTOMER = Stream("key customer", key_customer.fold)


Unit = CommandUnit
"""The unit of work a command runs in: PostgreSQL's, or the in-memory fake."""


@dataclass(frozen=True)
class Needs:
    """What every feedback command decides with: the pack source and the store.

    `pack_at(now)` answers the pack deciding at `now` under the bound policy (in
    production `Runtime.pack_now`: the ticket's pack and the version it was opened under;
    the deployment's default pack when nothing is bound). Every command resolves it at
    its own `now`, inside the ticket's policy (`for_ticket`)."""

    pack_at: Callable[[datetime], PolicyPack]
    store: Store

    @classmethod
    def on_postgres(cls, pack_at: Callable[[datetime], PolicyPack]) -> Needs:
        """The service's own: its reads on its database, in the command's transaction."""
        return cls(pack_at, PostgresStore())

    def pack_in(self, uow: Any) -> PolicyPack:
        """The pack deciding in `uow` at its `now`, under the policy bound."""
        return self.pack_at(uow.now())


def for_ticket(needs: Needs, uow: Unit, ticket_id: str) -> AbstractAsyncContextManager[None]:
    """Decide with the ticket's pack: the one bound, else the one feedback's copy of the
    ticket was opened under."""
    return bound_or(lambda: needs.store.policy(uow, ticket_id))


def described(_: Any, events: Sequence[Event]) -> dict[str, Any]:
    """The answer's events with their data (callers read the due times off them)."""
    return {"described": [{"type": e.event_type, "data": event_payload(e)} for e in events]}


async def _run_open(
    uow: Unit, stream: Stream[Any], stream_id: str, decide: Any, **options: Any
) -> CommandResult:
    """`run` on a stream that starts with its first event (a ticket's follow-up, a year's
    sample, a key customer): created when empty, appended to otherwise."""
    create = not await uow.stream_version(stream_id)
    return await run(uow, stream, stream_id, decide, create=create, **options)


# -- timers the events call for -----------------------------------------------------------


async def _schedule_timers(uow: Unit, events: Sequence[Event]) -> None:
    await schedule_timers(uow, [t for t in map(_timer_for, events) if t is not None])


def _timer_for(event: Event) -> Due | None:
    """The durable timer an event calls for, if any."""
    match event:
        case CallbackScheduled():
            return _callback_timer(event.callback_id, event, event.due_at, attempt=1)
        case CallbackAttempted(retry_at=datetime() as retry_at):
            # FBK-3: the same callback comes due again
            timer_id = f"{event.callback_id}:retry:{event.attempt + 1}"
            return _callback_timer(timer_id, event, retry_at, attempt=event.attempt + 1)
        case ComplaintFiled():
            return Due(
                timer_id=f"complaint:{event.complaint_id}",
                kind=COMPLAINT_TIMER,
                stream_id=complaint.complaint_stream(event.complaint_id),
                due_at=event.answer_by,
                payload={"complaint_id": event.complaint_id},
            )
    return None


def _callback_timer(
    timer_id: str, event: CallbackScheduled | CallbackAttempted, due_at: datetime, *, attempt: int
) -> Due:
    """The callback comes due (CallbackDue) at `due_at` for its `attempt`th call."""
    payload = {"callback_id": event.callback_id, "due_at": due_at.isoformat(), "attempt": attempt}
    return Due(timer_id, CALLBACK_TIMER, event.ticket_id, due_at, payload)


def _with_timers(decide: Any) -> Any:
    """A decision whose events are recorded together with the timers they call for."""

    async def decide_and_schedule(state: Any, uow: Unit) -> list[Event]:
        events = list(decide(state, uow))
        await _schedule_timers(uow, events)
        return events

    return decide_and_schedule


# -- callbacks (FBK-1..5) -----------------------------------------------------------------


async def schedule_callback(
    cmd: followup.ScheduleCallback, uow: Unit, needs: Needs, *, region: str | None = None
) -> CommandResult:
    """FBK-1 / FBK-2: a callback as a durable timer and its CallbackScheduled, once, when
    the ticket's pack says."""
    decide = _with_timers(lambda state, u: followup.decide_schedule(needs.pack_in(u), state, cmd))
    async with for_ticket(needs, uow, cmd.ticket_id):
        return await _run_open(uow, FOLLOW_UP, cmd.ticket_id, decide, region=region)


async def fire_callback(cmd: followup.FireCallback, uow: Unit, needs: Needs) -> CommandResult:
    """The callback's timer fired: it goes on the agents' list (CallbackDue)."""

    def decide(_: followup.FollowUp, uow: Unit) -> list[Event]:
        return followup.decide_fire(cmd, now=uow.now())

    return await _run_open(uow, FOLLOW_UP, cmd.ticket_id, decide)


async def record_callback(cmd: followup.RecordCallback, uow: Unit, needs: Needs) -> CommandResult:
    """FBK-3..5: not reached: retried later; reached: graded, and a dissatisfied customer
    gets someone on site (RevisitRequested) and two more callbacks."""
    ticket_id = await needs.store.ticket_of_callback(uow, cmd.callback_id)
    if ticket_id is None:
        raise NotFound(f"no callback {cmd.callback_id}")
    served = await needs.store.served(uow, ticket_id)
    visibility.check(f"no callback {cmd.callback_id}", served.region if served else None)
    case_id = f"CASE-{uuid.uuid4().hex[:12]}"

    def decide(state: followup.FollowUp, uow: Unit) -> list[Event]:
        return followup.decide_callback(
            needs.pack_in(uow), state, cmd, served=served, case_id=case_id, now=uow.now()
        )

    region = served.region if served else None
    async with for_ticket(needs, uow, ticket_id):
        result = await run(
            uow, FOLLOW_UP, ticket_id, _with_timers(decide), region=region, data=described
        )
    log.info("callback recorded", ticket_id=ticket_id, events=list(result.events))
    return result


# -- complaints (FBK-6) -------------------------------------------------------------------


async def file_complaint(cmd: complaint.FileComplaint, uow: Unit, needs: Needs) -> CommandResult:
    """FBK-6: filed, classified, with its answer deadline as a durable timer."""
    complaint_id = f"C-{uuid.uuid4().hex[:12]}"
    served = await needs.store.served(uow, cmd.ticket_id)
    if served is not None:  # a ticket served in another region is not the caller's
        visibility.check(f"no ticket {cmd.ticket_id}", served.region)

    def decide(_: None, uow: Unit) -> list[Event]:
        return complaint.decide_file(
            needs.pack_in(uow), cmd, complaint_id=complaint_id, served=served, now=uow.now()
        )

    stream_id = complaint.complaint_stream(complaint_id)
    region = served.region if served else None
    async with for_ticket(needs, uow, cmd.ticket_id):  # FBK-6: the ticket's answer clock
        return await run(
            uow,
            COMPLAINT,
            stream_id,
            _with_timers(decide),
            create=True,
            region=region,
            data=lambda *_: {"complaint_id": complaint_id},
        )


def _complaint(state: complaint.Complaint | None, complaint_id: str) -> complaint.Complaint:
    if state is None:
        raise NotFound(f"no complaint {complaint_id}")
    return state


async def _in_scope(
    state: complaint.Complaint | None, complaint_id: str, uow: Unit, needs: Needs
) -> complaint.Complaint:
    """The filed complaint, or a 404 when it is missing or its ticket was served outside
    the caller's regions."""
    filed = _complaint(state, complaint_id)
    served = await needs.store.served(uow, filed.filed.ticket_id)
    visibility.check(f"no complaint {complaint_id}", served.region if served else None)
    return filed


async def answer_complaint(
    cmd: complaint.AnswerComplaint, uow: Unit, needs: Needs
) -> CommandResult:
    """FBK-6: the customer was answered, within the deadline or not."""

    async def decide(state: complaint.Complaint | None, uow: Unit) -> list[Event]:
        filed = await _in_scope(state, cmd.complaint_id, uow, needs)
        return [complaint.decide_answer(filed, answer=cmd.answer, now=uow.now())]

    return await run(uow, COMPLAINT, complaint.complaint_stream(cmd.complaint_id), decide)


async def verify_complaint(
    cmd: complaint.VerifyComplaint, uow: Unit, needs: Needs
) -> CommandResult:
    """The complaint was looked into: verified (to PEN-1 / FEE-5) or dismissed."""

    async def decide(state: complaint.Complaint | None, uow: Unit) -> list[Event]:
        filed = await _in_scope(state, cmd.complaint_id, uow, needs)
        return [
            complaint.decide_verification(
                filed, verified=cmd.verified, finding=cmd.finding, now=uow.now()
            )
        ]

    return await run(uow, COMPLAINT, complaint.complaint_stream(cmd.complaint_id), decide)


async def escalate_complaint(
    cmd: complaint.EscalateComplaint, uow: Unit, needs: Needs
) -> CommandResult:
    """FBK-6: the answer window has passed; an unanswered complaint is escalated."""

    def decide(state: complaint.Complaint | None, uow: Unit) -> list[Event]:
        breach = complaint.decide_breach(needs.pack_in(uow), state, now=uow.now())
        return [breach] if breach is not None else []

    return await run(uow, COMPLAINT, complaint.complaint_stream(cmd.complaint_id), decide)


# -- the yearly survey (FBK-7, WAR-11) ----------------------------------------------------


async def draw_sample(cmd: sample.DrawSample, uow: Unit, needs: Needs) -> CommandResult:
    """FBK-7: draw and fix the year's sample of the customers served that year; once.

    The year spans tickets of every pack: its bounds and FBK-7's share are the
    deployment's default pack's, in force at the command's `now` (no ticket is bound)."""
    pack = needs.pack_in(uow)
    start, end = sample.year_bounds(cmd.year, pack.zone)
    served = await needs.store.served_between(uow, start, end)

    def decide(state: sample.SurveySample, uow: Unit) -> list[Event]:
        return sample.decide_draw(pack, state, cmd, served=served, now=uow.now())

    return await _run_open(uow, SAMPLE, sample.survey_stream(cmd.year), decide)


async def answer_survey(cmd: followup.AnswerSurvey, uow: Unit, needs: Needs) -> CommandResult:
    """FBK-7: a sampled customer's answer; WAR-11 reward when judged constructive."""
    served = await needs.store.served(uow, cmd.ticket_id)
    if served is None:
        raise NotFound(f"feedback has no ticket {cmd.ticket_id}")
    stream_id = sample.survey_stream(cmd.year)
    drawn = sample.fold(stream_id, await uow.load_stream(stream_id)).drawn

    def decide(state: followup.FollowUp, uow: Unit) -> Sequence[Event]:
        return followup.decide_answer_survey(
            needs.pack_in(uow), state, cmd, drawn=drawn, served=served, now=uow.now()
        )

    async with for_ticket(needs, uow, cmd.ticket_id):  # WAR-11 by the ticket's warranty
        return await _run_open(
            uow, FOLLOW_UP, cmd.ticket_id, decide, region=served.region, data=described
        )


# -- key customers (FBK-2) ----------------------------------------------------------------


async def note_key_customer(
    cmd: key_customer.NoteKeyCustomer, uow: Unit, needs: Needs
) -> CommandResult:
    """FBK-2: a key customer, always on the morning list."""

    def decide(state: key_customer.KeyCustomer, _: Any) -> list[Event]:
        return key_customer.decide_note(state, cmd)

    return await _run_open(uow, KEY_CUSTOMER, key_customer.key_customer_stream(cmd.name), decide)
