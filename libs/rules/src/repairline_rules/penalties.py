"""Penalties and staff quality (PEN-1..7), in integer fen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field

from repairline_rules.decision import Decision, Value, a_date, add_months, aware, stamp, utc
from repairline_rules.dispatch import lateness_notice
from repairline_rules.packs import NotInPack, PolicyPack, require
from repairline_rules.registry import rule


class PenaltyDecision(Decision):
    """A fine (possibly 0) and any sanction, with the fund it goes to."""

    fine_fen: int = Field(ge=0)
    sanction: Literal["none", "warning", "fine", "demotion_or_dismissal", "dismissal"]
    payee: str
    reason: str


class VerifiedComplaint(Value):
    """A verified complaint about an engineer: when it was verified and what about."""

    verified_at: datetime
    kind: str = Field(min_length=1)


@rule("PEN-1")
def complaint_penalty(
    pack: PolicyPack,
    *,
    complaint: VerifiedComplaint,
    earlier: Sequence[VerifiedComplaint] = (),
) -> PenaltyDecision:
    """PEN-1: a verified complaint fines the engineer (200 yuan). A repeat offence (an
    earlier verified complaint of the same kind) leads to dismissal; ``threshold`` (3)
    or more complaints within a rolling ``window_months`` (half a year) ending at this
    one lead to demotion or dismissal. Complaints after this one are ignored."""
    spec = require(pack.penalties.complaint, pack, "penalties.complaint", "PEN-1")
    now = utc(complaint.verified_at, "verified_at")
    local = now.astimezone(pack.zone)
    window_start_date = add_months(local.date(), -spec.window_months)
    window_start = datetime.combine(window_start_date, local.timetz()).astimezone(now.tzinfo)
    past = [c for c in earlier if utc(c.verified_at, "verified_at") <= now]
    in_window = 1 + sum(1 for c in past if utc(c.verified_at, "verified_at") > window_start)
    repeat = any(c.kind == complaint.kind for c in past)
    if repeat:
        sanction = "dismissal"
        reason = f"repeat offence ({complaint.kind})"
    elif in_window >= spec.demotion_threshold:
        sanction = "demotion_or_dismissal"
        reason = f"{in_window} complaints in {spec.window_months} months"
    else:
        sanction = "fine"
        reason = f"verified complaint ({in_window} in {spec.window_months} months)"
    return PenaltyDecision(
        **stamp(pack, ["PEN-1"]),
        fine_fen=spec.fine_fen,
        sanction=sanction,
        payee=pack.penalties.payee,
        reason=reason,
    )


FormKind = Literal["implementation", "acceptance", "implementation_plan", "service_feedback"]


class FormHandIn(Value):
    """A service form and the day it was handed in (None: not yet)."""

    kind: FormKind
    handed_in_on: date | None = None


@rule("PEN-2")
def late_forms_penalty(
    pack: PolicyPack, *, service_on: date, forms: Sequence[FormHandIn], on: date
) -> PenaltyDecision:
    """PEN-2: each service form not handed in by the day after the service: 30 yuan.

    A form still missing on ``on`` counts as late once the deadline has passed.
    """
    fine_each = require(pack.penalties.form_late_fen, pack, "penalties.form_late_fen", "PEN-2")
    a_date(service_on, "service_on")
    a_date(on, "on")
    deadline = service_on + timedelta(days=pack.penalties.form_grace_days)
    late = [
        form.kind
        for form in forms
        if (form.handed_in_on is not None and form.handed_in_on > deadline)
        or (form.handed_in_on is None and on > deadline)
    ]
    return PenaltyDecision(
        **stamp(pack, ["PEN-2"]),
        fine_fen=fine_each * len(late),
        sanction="fine" if late else "none",
        payee=pack.penalties.payee,
        reason=(f"late after {deadline}: {', '.join(late)}" if late else "all forms on time"),
    )


@rule("PEN-3", "PEN-4")
def unrecorded_service_penalty(
    pack: PolicyPack, *, unrecorded_visits: int = 0, unrecorded_remote_services: int = 0
) -> PenaltyDecision:
    """PEN-3: a visit or trip not in the service record: 30 yuan each. PEN-4: a remote
    service not recorded: 50 yuan each."""
    if unrecorded_visits < 0 or unrecorded_remote_services < 0:
        raise ValueError("counts must not be negative")
    rule_ids, fine = [], 0
    if unrecorded_visits:
        each = require(
            pack.penalties.visit_unrecorded_fen, pack, "penalties.visit_unrecorded_fen", "PEN-3"
        )
        fine += each * unrecorded_visits
        rule_ids.append("PEN-3")
    if unrecorded_remote_services:
        each = require(
            pack.penalties.remote_unrecorded_fen, pack, "penalties.remote_unrecorded_fen", "PEN-4"
        )
        fine += each * unrecorded_remote_services
        rule_ids.append("PEN-4")
    return PenaltyDecision(
        **stamp(pack, rule_ids or ["PEN-3", "PEN-4"]),
        fine_fen=fine,
        sanction="fine" if fine else "none",
        payee=pack.penalties.payee,
        reason=(
            f"{unrecorded_visits} visits and {unrecorded_remote_services} remote services "
            "not recorded"
        ),
    )


@rule("PEN-5")
def implementation_form_penalty(
    pack: PolicyPack, *, implemented_on: date, collected_on: date | None, on: date
) -> PenaltyDecision:
    """PEN-5: the implementation form not collected from the customer within 3 days
    after an implementation: 500 yuan."""
    fine = require(
        pack.penalties.implementation_form_fen, pack, "penalties.implementation_form_fen", "PEN-5"
    )
    a_date(implemented_on, "implemented_on")
    a_date(on, "on")
    deadline = implemented_on + timedelta(days=pack.penalties.implementation_form_days)
    late = (collected_on is not None and collected_on > deadline) or (
        collected_on is None and on > deadline
    )
    return PenaltyDecision(
        **stamp(pack, ["PEN-5"]),
        fine_fen=fine if late else 0,
        sanction="fine" if late else "none",
        payee=pack.penalties.payee,
        reason=f"form {'not ' if late else ''}collected by {deadline}",
    )


@rule("PEN-6")
def unreachable_staff_penalty(
    pack: PolicyPack, *, times_unreachable: int, fine_fen: int | None = None
) -> PenaltyDecision:
    """PEN-6: staff repeatedly unreachable get a warning or a fine within the pack's
    range (20-50 yuan). ``fine_fen`` is the manager's choice; None means a warning."""
    low = require(
        pack.penalties.unreachable_fine_min_fen, pack, "penalties.unreachable_fine_min_fen", "PEN-6"
    )
    high = pack.penalties.unreachable_fine_max_fen
    assert high is not None
    if times_unreachable < pack.penalties.unreachable_repeat_count:
        return PenaltyDecision(
            **stamp(pack, ["PEN-6"]),
            fine_fen=0,
            sanction="none",
            payee=pack.penalties.payee,
            reason=f"unreachable {times_unreachable} time(s): not repeated",
        )
    if fine_fen is None:
        sanction, fine, reason = "warning", 0, "repeatedly unreachable: warning"
    elif low <= fine_fen <= high:
        sanction, fine, reason = "fine", fine_fen, "repeatedly unreachable: fine"
    else:
        raise ValueError(f"fine_fen must be between {low} and {high} (PEN-6)")
    return PenaltyDecision(
        **stamp(pack, ["PEN-6"]),
        fine_fen=fine,
        sanction=sanction,
        payee=pack.penalties.payee,
        reason=reason,
    )


class MissedAppointmentDecision(Decision):
    """PEN-7: whether an appointment counts as missed against the engineer."""

    missed: bool
    counted_against_engineer: bool
    reason: str


@rule("PEN-7", "DSP-7")
def missed_appointment(
    pack: PolicyPack,
    *,
    appointment_at: datetime,
    arrived_at: datetime | None = None,
    customer_told_at: datetime | None = None,
    new_appointment_at: datetime | None = None,
    customer_caused: bool = False,
) -> MissedAppointmentDecision:
    """PEN-7: a visit that neither happened nor was rescheduled with notice (DSP-7) is a
    missed appointment, counted against the engineer.

    The visit happened when the engineer arrived (a late arrival is a lateness, not a
    miss; a 'customer not found' visit under DSP-9 did happen). A reschedule counts
    when the customer was told (``customer_told_at``) no later than DSP-7 requires for
    the delay to ``new_appointment_at``. A miss the customer caused (cancelled, asked
    to move) is not counted against the engineer.
    """
    aware(appointment_at, "appointment_at")
    if arrived_at is not None:
        aware(arrived_at, "arrived_at")
        return MissedAppointmentDecision(
            **stamp(pack, ["PEN-7"]),
            missed=False,
            counted_against_engineer=False,
            reason="the engineer arrived",
        )
    if customer_caused:
        return MissedAppointmentDecision(
            **stamp(pack, ["PEN-7"]),
            missed=False,
            counted_against_engineer=False,
            reason="moved or cancelled by the customer",
        )
    if customer_told_at is not None and new_appointment_at is not None:
        notice = lateness_notice(
            pack,
            appointment_at=appointment_at,
            expected_arrival=new_appointment_at,
            known_at=customer_told_at,
        )
        told_by = notice.notify_customer_by
        in_time = told_by is None or utc(customer_told_at, "customer_told_at") <= utc(
            told_by, "notify_customer_by"
        )
        if in_time:
            return MissedAppointmentDecision(
                **stamp(pack, ["PEN-7", "DSP-7"]),
                missed=False,
                counted_against_engineer=False,
                reason="rescheduled with the notice DSP-7 requires",
            )
        return MissedAppointmentDecision(
            **stamp(pack, ["PEN-7", "DSP-7"]),
            missed=True,
            counted_against_engineer=True,
            reason=f"rescheduled too late: the customer had to be told by {told_by}",
        )
    return MissedAppointmentDecision(
        **stamp(pack, ["PEN-7"]),
        missed=True,
        counted_against_engineer=True,
        reason="no visit and no reschedule with notice",
    )


__all__ = [
    "FormHandIn",
    "MissedAppointmentDecision",
    "NotInPack",
    "PenaltyDecision",
    "VerifiedComplaint",
    "complaint_penalty",
    "implementation_form_penalty",
    "late_forms_penalty",
    "missed_appointment",
    "unreachable_staff_penalty",
    "unrecorded_service_penalty",
]
