"""Follow-up callbacks and complaint answers (FBK-1..3, FBK-5, FBK-6)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal

from repairline_rules.calendar import BusinessCalendar, sla_deadline
from repairline_rules.decision import Decision, add_months, aware, stamp
from repairline_rules.packs import PolicyPack
from repairline_rules.registry import rule

CallbackKind = Literal["guidance_check", "service_followup", "retry", "dissatisfied_followup"]


class CallbackDecision(Decision):
    """A callback that is due: when, and why."""

    kind: CallbackKind
    due_at: datetime
    callback_list: str | None = None
    reason: str


@rule("FBK-1")
def callback_after_guidance(pack: PolicyPack, *, guided_at: datetime) -> CallbackDecision:
    """FBK-1: after phone guidance, call back (2 hours later) to check the problem is gone."""
    calendar = BusinessCalendar.from_pack(pack)
    window = pack.followup.after_guidance
    due = sla_deadline(calendar, aware(guided_at, "guided_at"), window)
    assert due is not None
    return CallbackDecision(
        **stamp(pack, ["FBK-1"]),
        kind="guidance_check",
        due_at=due,
        reason=f"{window.amount} {window.unit} after phone guidance",
    )


@rule("FBK-2")
def callback_after_service(pack: PolicyPack, *, completed_at: datetime) -> CallbackDecision:
    """FBK-2: the callback after a service.

    ``next_working_day`` packs call on the first working day after the day of the
    service, at the configured time or at opening (water-heater: the next morning's
    callback list); ``after_window`` packs call when the window has passed.
    """
    calendar = BusinessCalendar.from_pack(pack)
    spec = pack.followup.after_service
    aware(completed_at, "completed_at")
    if spec.rule == "next_working_day":
        at = None
        if spec.at is not None:
            hours, minutes = (int(part) for part in spec.at.split(":"))
            at = time(hours, minutes)
        due = calendar.next_working_day_at(completed_at, at)
        reason = "next working day" + (f" at {spec.at}" if spec.at else " at opening")
    else:
        assert spec.window is not None
        found = sla_deadline(calendar, completed_at, spec.window)
        assert found is not None
        due = found
        reason = f"{spec.window.amount} {spec.window.unit} after the service"
    if spec.callback_list:
        reason = f"{spec.callback_list}, {spec.coverage_percent} % of jobs: {reason}"
    return CallbackDecision(
        **stamp(pack, ["FBK-2"]),
        kind="service_followup",
        due_at=due,
        callback_list=spec.callback_list,
        reason=reason,
    )


class CallbackAttemptDecision(Decision):
    """FBK-3: whether a callback counts, and when to try again."""

    valid: bool
    retry_at: datetime | None
    attempts_exhausted: bool
    reason: str


@rule("FBK-3")
def callback_attempt(
    pack: PolicyPack, *, attempted_at: datetime, reached: bool, attempt: int = 1
) -> CallbackAttemptDecision:
    """FBK-3: a callback is valid only when the customer was reached; otherwise retry.

    ``attempt`` counts from 1. After the pack's ``max_attempts`` unreached attempts no
    retry is scheduled and ``attempts_exhausted`` is set (the callback stays invalid).
    """
    aware(attempted_at, "attempted_at")
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if reached:
        return CallbackAttemptDecision(
            **stamp(pack, ["FBK-3"]),
            valid=True,
            retry_at=None,
            attempts_exhausted=False,
            reason="customer reached",
        )
    limit = pack.followup.max_attempts
    if limit is not None and attempt >= limit:
        return CallbackAttemptDecision(
            **stamp(pack, ["FBK-3"]),
            valid=False,
            retry_at=None,
            attempts_exhausted=True,
            reason=f"customer not reached after {attempt} attempts",
        )
    window = pack.followup.retry_after
    retry_at = sla_deadline(BusinessCalendar.from_pack(pack), attempted_at, window)
    return CallbackAttemptDecision(
        **stamp(pack, ["FBK-3"]),
        valid=False,
        retry_at=retry_at,
        attempts_exhausted=False,
        reason=f"customer not reached: retry {window.amount} {window.unit} later",
    )


class DissatisfiedFollowupDecision(Decision):
    """FBK-5: what a dissatisfied callback sets going."""

    visit_due_at: datetime
    notify: tuple[str, ...]
    callbacks: tuple[CallbackDecision, ...]
    reason: str


@rule("FBK-5")
def after_dissatisfied_callback(
    pack: PolicyPack, *, called_at: datetime
) -> DissatisfiedFollowupDecision:
    """FBK-5: the engineer and outlet are told, someone goes on site at once, then two
    more callbacks: one within a week, one within a month of the dissatisfied callback."""
    local = aware(called_at, "called_at").astimezone(pack.zone)
    first_days = pack.followup.dissatisfied_first_days
    second_months = pack.followup.dissatisfied_second_months
    # Calendar days and months are counted on the local date, keeping the local time.
    first = local.replace(tzinfo=None) + timedelta(days=first_days)
    second_date = add_months(local.date(), second_months)
    second = datetime.combine(second_date, local.time())
    rule_ids = ["FBK-5"]
    callbacks = tuple(
        CallbackDecision(
            **stamp(pack, rule_ids),
            kind="dissatisfied_followup",
            due_at=wall.replace(tzinfo=pack.zone),
            reason=reason,
        )
        for wall, reason in (
            (first, f"follow-up within {first_days} days of a dissatisfied callback"),
            (second, f"follow-up within {second_months} month(s) of a dissatisfied callback"),
        )
    )
    return DissatisfiedFollowupDecision(
        **stamp(pack, rule_ids),
        visit_due_at=local,
        notify=("engineer", "outlet"),
        callbacks=callbacks,
        reason="customer dissatisfied: reason recorded, on-site visit at once",
    )


ComplaintKind = Literal["overcharge", "attitude", "quality", "other"]


class ComplaintAnswerDecision(Decision):
    """FBK-6: when a complaint must be answered and which rules it sets off."""

    answer_by: datetime
    triggers: tuple[str, ...]
    reason: str


@rule("FBK-6")
def complaint_answer_due(
    pack: PolicyPack, *, received_at: datetime, kind: ComplaintKind = "other"
) -> ComplaintAnswerDecision:
    """FBK-6: a complaint is answered within the pack's window (3 working days).

    An overcharge complaint sets off FEE-5, an attitude complaint PEN-1.
    """
    window = pack.followup.complaint_answer
    due = sla_deadline(BusinessCalendar.from_pack(pack), aware(received_at, "received_at"), window)
    assert due is not None
    triggers = {"overcharge": ("FEE-5",), "attitude": ("PEN-1",)}.get(kind, ())
    return ComplaintAnswerDecision(
        **stamp(pack, ["FBK-6"]),
        answer_by=due,
        triggers=triggers,
        reason=f"answer within {window.amount} {window.unit.replace('_', ' ')}",
    )
