"""Feedback decisions: pure, over the policy pack. Times are passed in.

Callbacks live in the ticket's stream; a complaint in a stream of its own
(`complaint:<id>`), keyed on the wire by its ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from repairline_contracts.base import Decision, Event
from repairline_contracts.feedback import (
    CallbackAnswers,
    CallbackAttempted,
    CallbackCompleted,
    CallbackDue,
    CallbackScheduled,
    ComplaintAnswered,
    ComplaintDismissed,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintVerified,
    ExtensionRewardGranted,
    RevisitRequested,
    SurveyAnswered,
    SurveySampleDrawn,
)
from repairline_rules import followup, surveys, warranty
from repairline_rules.packs import PolicyPack


class IllegalTransition(Exception):
    """A command the callback or complaint's state does not allow (answered 409)."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


def _decision(decided: object) -> Decision:
    return Decision(
        pack_id=decided.pack_id,  # type: ignore[attr-defined]
        pack_version=decided.pack_version,  # type: ignore[attr-defined]
        rule_ids=decided.rule_ids,  # type: ignore[attr-defined]
    )


def callback_id_for(ticket_id: str, reason: str) -> str:
    return f"{ticket_id}:{reason}"


# -- scheduling (FBK-1, FBK-2) ------------------------------------------------------------


def schedule_after_service(
    pack: PolicyPack, *, ticket_id: str, completed_at: datetime
) -> CallbackScheduled:
    """FBK-2: the follow-up call after a completed service."""
    decided = followup.callback_after_service(pack, completed_at=completed_at)
    return CallbackScheduled(
        ticket_id=ticket_id,
        callback_id=callback_id_for(ticket_id, "after_service"),
        due_at=decided.due_at,
        reason="after_service",
        decision=_decision(decided),
    )


def schedule_after_guidance(
    pack: PolicyPack, *, ticket_id: str, guided_at: datetime
) -> CallbackScheduled:
    """FBK-1: call back 2 hours after phone guidance to check the problem is gone."""
    decided = followup.callback_after_guidance(pack, guided_at=guided_at)
    return CallbackScheduled(
        ticket_id=ticket_id,
        callback_id=callback_id_for(ticket_id, "after_guidance"),
        due_at=decided.due_at,
        reason="after_guidance",
        decision=_decision(decided),
    )


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


# -- the callback's life (FBK-3..5) -------------------------------------------------------


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


def callbacks_of(events: Iterable[Event]) -> dict[str, Callback]:
    """Fold the ticket's feedback events into its callbacks."""
    found: dict[str, Callback] = {}
    for event in events:
        cid = getattr(event, "callback_id", None)
        if cid is None:
            continue
        cb = found.get(cid, Callback(cid))
        match event:
            case CallbackScheduled():
                cb = replace(cb, reason=event.reason)
            case CallbackDue():
                cb = replace(cb, due_attempt=max(cb.due_attempt, event.attempt))
            case CallbackAttempted():
                cb = replace(
                    cb,
                    attempts=max(cb.attempts, event.attempt),
                    exhausted=cb.exhausted or event.attempts_exhausted,
                )
            case CallbackCompleted():
                cb = replace(cb, completed=True)
        found[cid] = cb
    return found


def decide_unreached(
    pack: PolicyPack, callback: Callback, *, ticket_id: str, now: datetime
) -> CallbackAttempted:
    """FBK-3: the customer was not reached; the callback is not valid and is retried."""
    if callback.state != "due":
        raise IllegalTransition(
            f"callback {callback.callback_id} is {callback.state}", callback.state
        )
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
        decision=_decision(decided),
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
    if callback.state != "due":
        raise IllegalTransition(
            f"callback {callback.callback_id} is {callback.state}", callback.state
        )
    if outcome.grade == "dissatisfied" and not (outcome.reason or "").strip():
        raise IllegalTransition("a dissatisfied callback needs its reason (FBK-5)", "due")
    valid = followup.callback_attempt(
        pack, attempted_at=now, reached=True, attempt=callback.due_attempt
    )
    rule_ids = (*valid.rule_ids, "FBK-4", "FBK-5")
    events: list[Event] = [
        CallbackCompleted(
            ticket_id=ticket_id,
            callback_id=callback.callback_id,
            attempt=callback.due_attempt,
            answers=outcome.answers,
            grade=outcome.grade,  # type: ignore[arg-type]
            reason=outcome.reason,
            engineer_id=engineer_id,
            outlet_id=outlet_id,
            decision=Decision(
                pack_id=valid.pack_id, pack_version=valid.pack_version, rule_ids=rule_ids
            ),
            completed_at=now,
        )
    ]
    if outcome.grade != "dissatisfied":
        return events
    decided = followup.after_dissatisfied_callback(pack, called_at=now)
    events.append(
        RevisitRequested(
            ticket_id=ticket_id,
            case_id=case_id,
            reason=outcome.reason or "",
            requested_at=now,
            engineer_id=engineer_id,
            outlet_id=outlet_id,
            decision=_decision(decided),
        )
    )
    for n, planned in enumerate(decided.callbacks, 1):
        reason = ("dissatisfied_week", "dissatisfied_month")[n - 1]
        events.append(
            CallbackScheduled(
                ticket_id=ticket_id,
                callback_id=f"{ticket_id}:{reason}:{case_id}",
                due_at=planned.due_at,
                reason=reason,
                decision=_decision(planned),
            )
        )
    return events


# -- complaints (FBK-6) -------------------------------------------------------------------


def complaint_stream(complaint_id: str) -> str:
    return f"complaint:{complaint_id}"


def complaint_triggers(kind: str, engineer_id: str | None) -> tuple[str, ...]:
    """FBK-6: an overcharge complaint sets off FEE-5; a complaint about an engineer's
    attitude, work or lateness PEN-1 (a verified complaint about an engineer)."""
    if kind == "overcharge":
        return ("FEE-5",)
    return ("PEN-1",) if engineer_id else ()


def decide_complaint(
    pack: PolicyPack,
    *,
    complaint_id: str,
    ticket_id: str,
    channel: str,
    kind: str,
    description: str,
    engineer_id: str | None,
    outlet_id: str | None,
    amount_paid_fen: int | None,
    now: datetime,
) -> ComplaintFiled:
    """FBK-6: filed from any channel, classified, due an answer in 3 working days."""
    decided = followup.complaint_answer_due(
        pack,
        received_at=now,
        kind=kind if kind in ("overcharge", "attitude", "quality") else "other",  # type: ignore[arg-type]
    )
    return ComplaintFiled(
        ticket_id=ticket_id,
        complaint_id=complaint_id,
        channel=channel,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        description=description,
        engineer_id=engineer_id,
        outlet_id=outlet_id,
        amount_paid_fen=amount_paid_fen,
        answer_by=decided.answer_by,
        triggers=complaint_triggers(kind, engineer_id),
        decision=_decision(decided),
        filed_at=now,
    )


@dataclass(frozen=True)
class Complaint:
    filed: ComplaintFiled
    answered: bool = False
    escalated: bool = False
    verified: bool | None = None

    @property
    def state(self) -> str:
        if self.verified is not None:
            return "verified" if self.verified else "dismissed"
        if self.answered:
            return "answered"
        return "escalated" if self.escalated else "open"


def fold_complaint(events: Iterable[Event]) -> Complaint | None:
    complaint: Complaint | None = None
    for event in events:
        match event:
            case ComplaintFiled():
                complaint = Complaint(event)
            case ComplaintAnswered() if complaint:
                complaint = replace(complaint, answered=True)
            case ComplaintEscalated() if complaint:
                complaint = replace(complaint, escalated=True)
            case ComplaintVerified() if complaint:
                complaint = replace(complaint, verified=True)
            case ComplaintDismissed() if complaint:
                complaint = replace(complaint, verified=False)
    return complaint


def decide_answer(complaint: Complaint, *, answer: str, now: datetime) -> ComplaintAnswered:
    if complaint.answered:
        raise IllegalTransition("the complaint is already answered", complaint.state)
    return ComplaintAnswered(
        ticket_id=complaint.filed.ticket_id,
        complaint_id=complaint.filed.complaint_id,
        answer=answer,
        within_deadline=now <= complaint.filed.answer_by,
        answered_at=now,
    )


def decide_breach(
    pack: PolicyPack, complaint: Complaint, *, now: datetime
) -> ComplaintEscalated | None:
    """FBK-6: not answered by the deadline: escalated as breached."""
    if complaint.answered or complaint.escalated or now < complaint.filed.answer_by:
        return None
    return ComplaintEscalated(
        ticket_id=complaint.filed.ticket_id,
        complaint_id=complaint.filed.complaint_id,
        answer_by=complaint.filed.answer_by,
        reason="not answered within the FBK-6 window",
        decision=complaint.filed.decision,
        escalated_at=now,
    )


def decide_verification(
    complaint: Complaint, *, verified: bool, finding: str, now: datetime
) -> ComplaintVerified | ComplaintDismissed:
    """A complaint looked into: verified ones go on to PEN-1 or FEE-5 in billing."""
    if complaint.verified is not None:
        raise IllegalTransition("the complaint is already decided", complaint.state)
    filed = complaint.filed
    if not verified:
        return ComplaintDismissed(
            ticket_id=filed.ticket_id,
            complaint_id=filed.complaint_id,
            finding=finding,
            dismissed_at=now,
        )
    if filed.kind == "overcharge" and filed.amount_paid_fen is None:
        raise IllegalTransition("an overcharge needs the amount the customer paid", "open")
    return ComplaintVerified(
        ticket_id=filed.ticket_id,
        complaint_id=filed.complaint_id,
        kind=filed.kind,
        engineer_id=filed.engineer_id,
        outlet_id=filed.outlet_id,
        amount_paid_fen=filed.amount_paid_fen,
        finding=finding,
        triggers=filed.triggers,
        verified_at=now,
    )


# -- survey and reward (FBK-7, WAR-11) ---------------------------------------------------


def survey_stream(year: int) -> str:
    """The stream (and key) of a year's survey sample."""
    return f"survey:{year}"


def decide_sample(
    pack: PolicyPack,
    *,
    year: int,
    ticket_ids: Iterable[str],
    percent: int,
    drawn: SurveySampleDrawn | None,
    now: datetime,
) -> SurveySampleDrawn:
    """FBK-7: draw the year's survey sample once; a drawn sample is never redrawn, so
    who may answer is fixed and reproducible from the log."""
    if drawn is not None:
        raise IllegalTransition(
            f"the {year} survey sample was drawn at {drawn.drawn_at.isoformat()}", "drawn"
        )
    decided = surveys.survey_sample(pack, year=year, ticket_ids=list(ticket_ids), percent=percent)
    return SurveySampleDrawn(
        ticket_id=survey_stream(year),
        survey_year=year,
        percent=percent,
        population=decided.population,
        sample=decided.sample,
        reason=decided.reason,
        decision=_decision(decided),
        drawn_at=now,
    )


def check_sampled(drawn: SurveySampleDrawn | None, *, ticket_id: str, year: int) -> None:
    """FBK-7: only a customer in the year's drawn sample may answer its survey."""
    if drawn is None:
        raise IllegalTransition(
            f"no survey sample has been drawn for {year} (FBK-7)", "sample_not_drawn"
        )
    if ticket_id not in drawn.sample:
        raise IllegalTransition(
            f"ticket {ticket_id} is not in the {year} survey sample (FBK-7)", "not_in_sample"
        )


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
) -> list[Event]:
    """FBK-7 survey answer; WAR-11: a constructive one earns a free repair or 12 months."""
    events: list[Event] = [
        SurveyAnswered(
            ticket_id=ticket_id,
            survey_year=year,
            grade=grade,  # type: ignore[arg-type]
            answer=answer,
            constructive=constructive,
            answered_at=now,
        )
    ]
    if not constructive:
        return events
    today = now.astimezone(pack.zone).date()
    ends_on = today
    if product_line and purchase_date:
        cover = warranty.assess_warranty(
            pack,
            product=product_line,
            on=today,
            proof=warranty.Proof(invoice_date=purchase_date),
        )
        ends_on = max(cover.unit_ends_on or today, today)
    decided = warranty.extension_reward(pack, answer_constructive=True, warranty_ends_on=ends_on)
    events.append(
        ExtensionRewardGranted(
            ticket_id=ticket_id,
            serial_no=serial_no,
            reward=reward,  # type: ignore[arg-type]
            extended_ends_on=decided.extended_ends_on if reward == "warranty_extension" else None,
            reason=decided.reason,
            decision=_decision(decided),
            granted_at=now,
        )
    )
    return events


def percent(part: int, whole: int) -> str:
    """A percentage with two decimals by integer arithmetic ("100.00"; "" for 0 of 0)."""
    if whole == 0:
        return ""
    hundredths = part * 10000 // whole
    return f"{hundredths // 100}.{hundredths % 100:02d}"
