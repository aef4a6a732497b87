"""A ticket's follow-up, kept in feedback's stream of the ticket (its id).

Callbacks: scheduled after a service (FBK-2) or phone guidance (FBK-1), put on the list
when due, retried while the customer is not reached (FBK-3), graded when reached
(FBK-4, FBK-5). The yearly survey answer and its WAR-11 reward live here too (FBK-7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import reduce
from types import MappingProxyType
from typing import Literal

from repairline_contracts.base import Decision, Event
from repairline_contracts.feedback import (
    CallbackAnswers,
    CallbackAttempted,
    CallbackCompleted,
    CallbackDue,
    CallbackScheduled,
    ExtensionRewardGranted,
    RevisitRequested,
    SurveyAnswered,
    SurveySampleDrawn,
)
from repairline_feedback.domain.sample import check_sampled
from repairline_rules import followup, warranty
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import IllegalTransition, NotFound

# -- commands -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleCallback:
    """FBK-1 / FBK-2: call the customer back after guidance or a service done `at`."""

    ticket_id: str
    reason: Literal["after_service", "after_guidance"]
    at: datetime


@dataclass(frozen=True)
class FireCallback:
    """The callback's timer fired: it goes on the agents' list (attempt 1, then retries)."""

    ticket_id: str
    callback_id: str
    due_at: datetime
    attempt: int = 1


@dataclass(frozen=True)
class RecordCallback:
    """FBK-3..5: the customer was called: not reached, or reached with answers and grade."""

    callback_id: str
    reached: bool
    answers: CallbackAnswers = field(default_factory=CallbackAnswers)
    grade: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AnswerSurvey:
    """FBK-7: a sampled customer answers the year's survey; WAR-11 when constructive."""

    ticket_id: str
    year: int
    grade: str
    answer: str
    constructive: bool
    reward: Literal["free_repair", "warranty_extension"] = "free_repair"


@dataclass(frozen=True)
class ServedTicket:
    """What feedback's copy of the other contexts' facts knows of a served ticket."""

    ticket_id: str
    region: str | None = None
    engineer_id: str | None = None
    outlet_id: str | None = None
    product_line: str | None = None
    purchase_date: date | None = None
    """The purchase date the customer stated (INT-3): read only while intake has
    published no warranty start of its own."""
    serial_no: str | None = None
    warranty_start: date | None = None
    """WAR-5: the date intake's WarrantyDecided says the warranty runs from."""
    warranty_source: str | None = None
    days_paused: int = 0


# -- state --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    callback_id: str
    reason: str = ""
    due_attempt: int = 0  # the attempt number of the latest CallbackDue
    attempts: int = 0  # unreached attempts recorded
    completed: bool = False
    exhausted: bool = False

    @property
    def state(self) -> str:
        if self.completed:
            return "completed"
        if self.exhausted:
            return "exhausted"
        if self.due_attempt > self.attempts:
            return "due"
        if self.attempts:
            return "retry_pending"
        return "scheduled"


@dataclass(frozen=True)
class FollowUp:
    """The ticket's callbacks by id and the survey years it has answered."""

    ticket_id: str
    callbacks: Mapping[str, Callback] = field(default_factory=lambda: MappingProxyType({}))
    surveyed: frozenset[int] = frozenset()


def _callback(cb: Callback, event: Event) -> Callback:
    match event:
        case CallbackScheduled():
            return replace(cb, reason=event.reason)
        case CallbackDue():
            return replace(cb, due_attempt=max(cb.due_attempt, event.attempt))
        case CallbackAttempted():
            return replace(
                cb,
                attempts=max(cb.attempts, event.attempt),
                exhausted=cb.exhausted or event.attempts_exhausted,
            )
        case CallbackCompleted():
            return replace(cb, completed=True)
    return cb


def evolve(state: FollowUp, event: Event) -> FollowUp:
    """The follow-up after one more of its events."""
    if isinstance(event, SurveyAnswered):
        return replace(state, surveyed=state.surveyed | {event.survey_year})
    cid = getattr(event, "callback_id", None)
    if cid is None:
        return state
    cb = _callback(state.callbacks.get(cid, Callback(cid)), event)
    return replace(state, callbacks=MappingProxyType({**state.callbacks, cid: cb}))


def fold(stream_id: str, events: Iterable[Event]) -> FollowUp:
    return reduce(evolve, events, FollowUp(stream_id))


def callbacks_of(events: Iterable[Event]) -> Mapping[str, Callback]:
    """Fold the ticket's feedback events into its callbacks."""
    return fold("", events).callbacks


def callback_id_for(ticket_id: str, reason: str) -> str:
    return f"{ticket_id}:{reason}"


# -- scheduling (FBK-1, FBK-2) ------------------------------------------------------------


def _scheduled(
    ticket_id: str, reason: str, decided: followup.CallbackDecision
) -> CallbackScheduled:
    return CallbackScheduled(
        ticket_id=ticket_id,
        callback_id=callback_id_for(ticket_id, reason),
        due_at=decided.due_at,
        reason=reason,
        decision=Decision.of(decided),
    )


def schedule_after_service(
    pack: PolicyPack, *, ticket_id: str, completed_at: datetime
) -> CallbackScheduled:
    """FBK-2: the follow-up call after a completed service."""
    decided = followup.callback_after_service(pack, completed_at=completed_at)
    return _scheduled(ticket_id, "after_service", decided)


def schedule_after_guidance(
    pack: PolicyPack, *, ticket_id: str, guided_at: datetime
) -> CallbackScheduled:
    """FBK-1: call back 2 hours after phone guidance to check the problem is gone."""
    decided = followup.callback_after_guidance(pack, guided_at=guided_at)
    return _scheduled(ticket_id, "after_guidance", decided)


def decide_schedule(pack: PolicyPack, state: FollowUp, cmd: ScheduleCallback) -> list[Event]:
    """FBK-1 / FBK-2: the callback is scheduled once; hearing of it again changes nothing."""
    if callback_id_for(cmd.ticket_id, cmd.reason) in state.callbacks:
        return []
    if cmd.reason == "after_service":
        return [schedule_after_service(pack, ticket_id=cmd.ticket_id, completed_at=cmd.at)]
    return [schedule_after_guidance(pack, ticket_id=cmd.ticket_id, guided_at=cmd.at)]


def fire(
    scheduled_due_at: datetime,
    *,
    ticket_id: str,
    callback_id: str,
    now: datetime,
    attempt: int = 1,
) -> CallbackDue:
    return CallbackDue(
        ticket_id=ticket_id,
        callback_id=callback_id,
        due_at=scheduled_due_at,
        fired_at=now,
        attempt=attempt,
    )


def decide_fire(cmd: FireCallback, *, now: datetime) -> list[Event]:
    """The timer fired: the callback is due (on the list) for this attempt."""
    return [
        fire(
            cmd.due_at,
            ticket_id=cmd.ticket_id,
            callback_id=cmd.callback_id,
            now=now,
            attempt=cmd.attempt,
        )
    ]


# -- the callback's life (FBK-3..5) -------------------------------------------------------


def _due(callback: Callback) -> None:
    if callback.state != "due":
        raise IllegalTransition(
            f"callback {callback.callback_id} is {callback.state}", callback.state
        )


def decide_unreached(
    pack: PolicyPack, callback: Callback, *, ticket_id: str, now: datetime
) -> CallbackAttempted:
    """FBK-3: the customer was not reached; the callback is not valid and is retried."""
    _due(callback)
    decided = followup.callback_attempt(
        pack, attempted_at=now, reached=False, attempt=callback.due_attempt
    )
    return CallbackAttempted(
        ticket_id=ticket_id,
        callback_id=callback.callback_id,
        attempt=callback.due_attempt,
        retry_at=decided.retry_at,
        attempts_exhausted=decided.attempts_exhausted,
        reason=decided.reason,
        decision=Decision.of(decided),
        attempted_at=now,
    )


@dataclass(frozen=True)
class Outcome:
    """What a reached customer said (FBK-4) and the grade (FBK-5)."""

    answers: CallbackAnswers
    grade: str
    reason: str | None


def decide_outcome(
    pack: PolicyPack,
    callback: Callback,
    outcome: Outcome,
    *,
    ticket_id: str,
    engineer_id: str | None,
    outlet_id: str | None,
    case_id: str,
    now: datetime,
) -> list[Event]:
    """FBK-3..5: a valid callback, graded. Dissatisfied: the reason is written down, the
    engineer and outlet are told, someone goes on site at once (RevisitRequested), and
    two more callbacks are scheduled, within a week and within a month."""
    _due(callback)
    if outcome.grade == "dissatisfied" and not (outcome.reason or "").strip():
        raise IllegalTransition("a dissatisfied callback needs its reason (FBK-5)", "due")
    valid = followup.callback_attempt(
        pack, attempted_at=now, reached=True, attempt=callback.due_attempt
    )
    completed = CallbackCompleted(
        ticket_id=ticket_id,
        callback_id=callback.callback_id,
        attempt=callback.due_attempt,
        answers=outcome.answers,
        grade=outcome.grade,  # type: ignore[arg-type]
        reason=outcome.reason,
        engineer_id=engineer_id,
        outlet_id=outlet_id,
        decision=Decision(
            pack_id=valid.pack_id,
            pack_version=valid.pack_version,
            rule_ids=(*valid.rule_ids, "FBK-4", "FBK-5"),
        ),
        completed_at=now,
    )
    if outcome.grade != "dissatisfied":
        return [completed]
    decided = followup.after_dissatisfied_callback(pack, called_at=now)
    revisit = RevisitRequested(
        ticket_id=ticket_id,
        case_id=case_id,
        reason=outcome.reason or "",
        requested_at=now,
        engineer_id=engineer_id,
        outlet_id=outlet_id,
        decision=Decision.of(decided),
    )
    return [completed, revisit, *_follow_ups(decided, ticket_id=ticket_id, case_id=case_id)]


def _follow_ups(
    decided: followup.DissatisfiedFollowupDecision, *, ticket_id: str, case_id: str
) -> list[Event]:
    """FBK-5: one more callback within a week, one within a month."""
    return [
        CallbackScheduled(
            ticket_id=ticket_id,
            callback_id=f"{ticket_id}:{reason}:{case_id}",
            due_at=planned.due_at,
            reason=reason,
            decision=Decision.of(planned),
        )
        for reason, planned in zip(
            ("dissatisfied_week", "dissatisfied_month"), decided.callbacks, strict=False
        )
    ]


def decide_callback(
    pack: PolicyPack,
    state: FollowUp,
    cmd: RecordCallback,
    *,
    served: ServedTicket | None,
    case_id: str,
    now: datetime,
) -> list[Event]:
    """FBK-3..5: one call of a due callback, reached or not."""
    callback = state.callbacks.get(cmd.callback_id)
    if callback is None:
        raise NotFound(f"no callback {cmd.callback_id}")
    if not cmd.reached:
        return [decide_unreached(pack, callback, ticket_id=state.ticket_id, now=now)]
    return decide_outcome(
        pack,
        callback,
        Outcome(cmd.answers, cmd.grade or "", cmd.reason),
        ticket_id=state.ticket_id,
        engineer_id=served.engineer_id if served else None,
        outlet_id=served.outlet_id if served else None,
        case_id=case_id,
        now=now,
    )


# -- the yearly survey (FBK-7) and its reward (WAR-11) ------------------------------------


def decide_survey(
    pack: PolicyPack,
    *,
    ticket_id: str,
    year: int,
    grade: str,
    answer: str,
    constructive: bool,
    reward: str,
    product_line: str | None,
    purchase_date: date | None,
    serial_no: str | None,
    now: datetime,
    warranty_start: date | None = None,
    warranty_source: str | None = None,
    days_paused: int = 0,
) -> list[Event]:
    """FBK-7 survey answer; WAR-11: a constructive one earns a free repair or 12 months."""
    answered = SurveyAnswered(
        ticket_id=ticket_id,
        survey_year=year,
        grade=grade,  # type: ignore[arg-type]
        answer=answer,
        constructive=constructive,
        answered_at=now,
    )
    if not constructive:
        return [answered]
    dated = warranty.published(warranty_start, warranty_source, purchase_date)
    ends_on = _warranty_ends_on(pack, product_line, dated, days_paused, now)
    decided = warranty.extension_reward(pack, answer_constructive=True, warranty_ends_on=ends_on)
    granted = ExtensionRewardGranted(
        ticket_id=ticket_id,
        serial_no=serial_no,
        reward=reward,  # type: ignore[arg-type]
        extended_ends_on=decided.extended_ends_on if reward == "warranty_extension" else None,
        reason=decided.reason,
        decision=Decision.of(decided),
        granted_at=now,
    )
    return [answered, granted]


def _warranty_ends_on(
    pack: PolicyPack,
    product_line: str | None,
    dated: warranty.Proof,
    days_paused: int,
    now: datetime,
) -> date:
    """The unit's warranty end (today when unknown or over), which WAR-11 extends: from
    the date intake published (WAR-3, WAR-5), else the stated one (INT-3)."""
    today = now.astimezone(pack.zone).date()
    if not product_line or warranty.start_of(dated)[0] is None:
        return today
    cover = warranty.assess_warranty(
        pack, product=product_line, on=today, proof=dated, days_in_repair=days_paused
    )
    return max(cover.unit_ends_on or today, today)


def decide_answer_survey(
    pack: PolicyPack,
    state: FollowUp,
    cmd: AnswerSurvey,
    *,
    drawn: SurveySampleDrawn | None,
    served: ServedTicket,
    now: datetime,
) -> Sequence[Event]:
    """FBK-7: only a customer in the year's drawn sample answers, and once a year."""
    check_sampled(drawn, ticket_id=cmd.ticket_id, year=cmd.year)
    if cmd.year in state.surveyed:
        raise IllegalTransition(
            f"ticket {cmd.ticket_id} has answered the {cmd.year} survey (FBK-7)", "answered"
        )
    return decide_survey(
        pack,
        ticket_id=cmd.ticket_id,
        year=cmd.year,
        grade=cmd.grade,
        answer=cmd.answer,
        constructive=cmd.constructive,
        reward=cmd.reward,
        product_line=served.product_line,
        purchase_date=served.purchase_date,
        serial_no=served.serial_no,
        now=now,
        warranty_start=served.warranty_start,
        warranty_source=served.warranty_source,
        days_paused=served.days_paused,
    )
