"""Penalties (stream `penalty:<id>`): PEN-1..7 from the facts that prove them, FEE-5
overcharge refunds with the outlet's fine, appeals and rulings. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import reduce
from typing import Any

from repairline_billing.domain.pricing import yuan
from repairline_contracts.base import Decision, Event
from repairline_contracts.billing import (
    ChargeAssessed,
    Evidence,
    OverchargeRefunded,
    PenaltyAppealed,
    PenaltyAssessed,
    PenaltyUpheld,
    PenaltyVoided,
    RemoteServiceReported,
    StaffUnreachableRecorded,
)
from repairline_rules import fees, ledger, penalties
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import IllegalTransition
from repairline_rules.timers import Due

# -- penalties ----------------------------------------------------------------------------


def penalty_stream(penalty_id: str) -> str:
    return f"penalty:{penalty_id}"


def _penalty(
    pack: PolicyPack,
    decided: penalties.PenaltyDecision,
    *,
    penalty_id: str,
    ticket_id: str,
    subject: str,
    engineer_id: str | None,
    outlet_id: str | None,
    offence_at: datetime,
    evidence: Sequence[Evidence],
    now: datetime,
    kind: str | None = None,
) -> PenaltyAssessed:
    return PenaltyAssessed(
        ticket_id=ticket_id,
        penalty_id=penalty_id,
        subject=subject,  # type: ignore[arg-type]
        engineer_id=engineer_id,
        outlet_id=outlet_id,
        fine_fen=decided.fine_fen,
        sanction=decided.sanction,
        payee=decided.payee,
        reason=decided.reason,
        kind=kind,
        offence_at=offence_at,
        evidence=tuple(evidence),
        decision=Decision.of(decided),
        assessed_at=now,
    )


@dataclass(frozen=True)
class VerifiedComplaint:
    """What billing needs of feedback's ComplaintVerified."""

    complaint_id: str
    ticket_id: str
    kind: str
    engineer_id: str | None
    outlet_id: str | None
    amount_paid_fen: int | None
    verified_at: datetime
    event_id: str


def decide_complaint_penalty(
    pack: PolicyPack,
    complaint: VerifiedComplaint,
    *,
    earlier: Sequence[tuple[str, datetime]],
    now: datetime,
) -> PenaltyAssessed | None:
    """PEN-1: a verified complaint about an engineer: the fine, with the repeat-offence
    and 'three in half a year' escalations. ``earlier`` holds (kind, verified_at) of the
    engineer's earlier complaints still standing (voided ones excluded)."""
    if complaint.engineer_id is None or pack.penalties.complaint is None:
        return None
    decided = penalties.complaint_penalty(
        pack,
        complaint=penalties.VerifiedComplaint(
            verified_at=complaint.verified_at, kind=complaint.kind
        ),
        earlier=[penalties.VerifiedComplaint(verified_at=at, kind=k) for k, at in earlier],
    )
    return _penalty(
        pack,
        decided,
        penalty_id=f"PEN-1:{complaint.complaint_id}",
        ticket_id=complaint.ticket_id,
        subject="engineer",
        engineer_id=complaint.engineer_id,
        outlet_id=complaint.outlet_id,
        offence_at=complaint.verified_at,
        evidence=[
            Evidence(
                event_id=complaint.event_id,
                event_type="repairline.feedback.ComplaintVerified",
                ticket_id=complaint.ticket_id,
                note=f"{complaint.kind} complaint {complaint.complaint_id} verified",
            )
        ],
        now=now,
        kind=complaint.kind,
    )


def decide_overcharge(
    pack: PolicyPack,
    complaint: VerifiedComplaint,
    *,
    tariff_fen: int,
    invoice_event_id: str,
    now: datetime,
) -> tuple[OverchargeRefunded, PenaltyAssessed] | None:
    """FEE-5: the excess over the tariff is refunded and the outlet fined 10 times it."""
    charged = complaint.amount_paid_fen
    if charged is None:
        return None
    decided = fees.overcharge_fine(pack, charged_fen=charged, tariff_fen=tariff_fen)
    if decided.excess_fen == 0:
        return None
    evidence = (
        Evidence(
            event_id=complaint.event_id,
            event_type="repairline.feedback.ComplaintVerified",
            ticket_id=complaint.ticket_id,
            note=f"overcharge verified: customer paid {yuan(charged)} yuan",
        ),
        Evidence(
            event_id=invoice_event_id,
            event_type=ChargeAssessed.event_type,
            ticket_id=complaint.ticket_id,
            note=f"the tariff allows {yuan(tariff_fen)} yuan",
        ),
    )
    refund = OverchargeRefunded(
        ticket_id=complaint.ticket_id,
        complaint_id=complaint.complaint_id,
        outlet_id=complaint.outlet_id,
        charged_fen=charged,
        tariff_fen=tariff_fen,
        refund_fen=decided.excess_fen,
        evidence=evidence,
        decision=Decision.of(decided),
        refunded_at=now,
    )
    fine = PenaltyAssessed(
        ticket_id=complaint.ticket_id,
        penalty_id=f"FEE-5:{complaint.complaint_id}",
        subject="outlet",
        engineer_id=complaint.engineer_id,
        outlet_id=complaint.outlet_id,
        fine_fen=decided.fine_fen,
        sanction="fine",
        payee=pack.penalties.payee,
        reason=decided.reason,
        kind="overcharge",
        offence_at=complaint.verified_at,
        evidence=evidence,
        decision=Decision.of(decided),
        assessed_at=now,
    )
    return refund, fine


def decide_missed_appointment(
    pack: PolicyPack,
    data: dict[str, Any],
    *,
    event_id: str,
    outlet_id: str | None,
    earlier: Sequence[datetime],
    now: datetime,
) -> PenaltyAssessed | None:
    """PEN-7 from dispatch's MissedAppointment (read by its wire fields)."""
    engineer_id = data.get("engineer_id")
    if not engineer_id:
        return None
    decision = data.get("decision") or {}
    if decision.get("counted_against_engineer") is False:
        return None
    detected_at = _as_datetime(data.get("detected_at") or data["appointment_start"])
    decided = ledger.missed_appointment_entry(pack, missed_at=detected_at, earlier=earlier)
    start = str(data.get("appointment_start", ""))
    return _penalty(
        pack,
        decided,
        penalty_id=missed_penalty_id(data),
        ticket_id=data["ticket_id"],
        subject="engineer",
        engineer_id=engineer_id,
        outlet_id=outlet_id,
        offence_at=detected_at,
        evidence=[
            Evidence(
                event_id=event_id,
                event_type="repairline.dispatch.MissedAppointment",
                ticket_id=data["ticket_id"],
                note=f"appointment at {start} missed: {data.get('reason', '')}".strip(),
            )
        ],
        now=now,
        kind="missed_appointment",
    )


def missed_penalty_id(data: dict[str, Any]) -> str:
    """PEN-7 penalties are keyed by ticket and appointment start (digits only)."""
    digits = "".join(ch for ch in str(data.get("appointment_start", "")) if ch.isdigit())
    return f"PEN-7:{data['ticket_id']}:{digits[:12]}"


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


REQUIRED_FORMS = ("acceptance", "service_feedback")


def check_deadline(pack: PolicyPack, service_on: date, days: int) -> datetime:
    """The first moment after the deadline day: local midnight ``days + 1`` days on."""
    day = service_on + timedelta(days=days + 1)
    return datetime.combine(day, time(0, 0), tzinfo=pack.zone)


def decide_forms_check(
    pack: PolicyPack,
    *,
    ticket_id: str,
    engineer_id: str | None,
    outlet_id: str | None,
    service_on: date,
    handed_in: dict[str, date],
    on: date,
    completion_event_id: str,
    now: datetime,
) -> PenaltyAssessed | None:
    """PEN-2: each required service form not handed in by the day after the service.

    Every service needs the acceptance and service-feedback forms; an implementation
    (an implementation plan was handed in) needs the implementation form too.
    """
    if pack.penalties.form_late_fen is None:
        return None
    kinds = list(REQUIRED_FORMS)
    if "implementation_plan" in handed_in:
        kinds.append("implementation")
    decided = penalties.late_forms_penalty(
        pack,
        service_on=service_on,
        forms=[penalties.FormHandIn(kind=k, handed_in_on=handed_in.get(k)) for k in kinds],
        on=on,
    )
    if decided.fine_fen == 0:
        return None
    note = f"service on {service_on}; {decided.reason}"
    return _late_form(
        pack, decided, "PEN-2", ticket_id, engineer_id, outlet_id, completion_event_id, note, now
    )


def _late_form(
    pack: PolicyPack,
    decided: penalties.PenaltyDecision,
    rule_id: str,
    ticket_id: str,
    engineer_id: str | None,
    outlet_id: str | None,
    completion_event_id: str,
    note: str,
    now: datetime,
) -> PenaltyAssessed:
    """PEN-2 and PEN-5: the engineer's fine, proved by the completion it followed."""
    return _penalty(
        pack,
        decided,
        penalty_id=f"{rule_id}:{ticket_id}",
        ticket_id=ticket_id,
        subject="engineer",
        engineer_id=engineer_id,
        outlet_id=outlet_id,
        offence_at=now,
        evidence=[
            Evidence(
                event_id=completion_event_id,
                event_type="repairline.dispatch.RepairCompleted",
                ticket_id=ticket_id,
                note=note,
            )
        ],
        now=now,
    )


def decide_record_check(
    pack: PolicyPack,
    *,
    ticket_id: str,
    engineer_id: str | None,
    outlet_id: str | None,
    recorded: bool,
    visit_event_id: str,
    visit_on: date,
    now: datetime,
    remote: bool = False,
) -> PenaltyAssessed | None:
    """PEN-3: a visit not written into the service record by the end of the next day;
    PEN-4: the same for a remote service the service desk logged."""
    amount = pack.penalties.remote_unrecorded_fen if remote else pack.penalties.visit_unrecorded_fen
    if recorded or amount is None:
        return None
    if remote:
        decided = penalties.unrecorded_service_penalty(pack, unrecorded_remote_services=1)
        proof, what = RemoteServiceReported.event_type, "remote service"
    else:
        decided = penalties.unrecorded_service_penalty(pack, unrecorded_visits=1)
        proof, what = "repairline.dispatch.ArrivedOnSite", "visit"
    return _penalty(
        pack,
        decided,
        penalty_id=f"PEN-4:{ticket_id}:{visit_event_id[:8]}" if remote else f"PEN-3:{ticket_id}",
        ticket_id=ticket_id,
        subject="engineer",
        engineer_id=engineer_id,
        outlet_id=outlet_id,
        offence_at=now,
        evidence=[
            Evidence(
                event_id=visit_event_id,
                event_type=proof,
                ticket_id=ticket_id,
                note=f"{what} on {visit_on}; no service record filed",
            )
        ],
        now=now,
    )


UNREACHABLE_WINDOW_DAYS = 30  # default: RULES.md says 'repeatedly' without a period


def decide_unreachable(
    pack: PolicyPack,
    *,
    engineer_id: str,
    outlet_id: str | None,
    records: Sequence[tuple[str, str, datetime]],
    fine_fen: int | None,
    now: datetime,
) -> PenaltyAssessed | None:
    """PEN-6: repeatedly unreachable (the pack's count within 30 days): a warning, or a
    fine in the pack's range when the manager sets one. ``records`` holds
    (event id, ticket id, recorded at) of the StaffUnreachableRecorded facts."""
    if pack.penalties.unreachable_fine_min_fen is None:
        return None
    recent = sorted(
        (r for r in records if now - r[2] <= timedelta(days=UNREACHABLE_WINDOW_DAYS)),
        key=lambda r: r[2],
    )
    decided = penalties.unreachable_staff_penalty(
        pack, times_unreachable=len(recent), fine_fen=fine_fen
    )
    if decided.sanction == "none":
        return None
    last_id, last_ticket, _ = recent[-1]
    return _penalty(
        pack,
        decided,
        penalty_id=f"PEN-6:{engineer_id}:{last_id[:8]}",
        ticket_id=last_ticket,
        subject="engineer",
        engineer_id=engineer_id,
        outlet_id=outlet_id,
        offence_at=now,
        evidence=[
            Evidence(
                event_id=event_id,
                event_type=StaffUnreachableRecorded.event_type,
                ticket_id=ticket_id,
                note=f"unreachable at {at.isoformat()}",
            )
            for event_id, ticket_id, at in recent
        ],
        now=now,
    )


def decide_implementation_form_check(
    pack: PolicyPack,
    *,
    ticket_id: str,
    engineer_id: str | None,
    outlet_id: str | None,
    implemented_on: date,
    handed_in: dict[str, date],
    on: date,
    completion_event_id: str,
    now: datetime,
) -> PenaltyAssessed | None:
    """PEN-5: an implementation's form not collected within 3 days."""
    if pack.penalties.implementation_form_fen is None or "implementation_plan" not in handed_in:
        return None
    decided = penalties.implementation_form_penalty(
        pack, implemented_on=implemented_on, collected_on=handed_in.get("implementation"), on=on
    )
    if decided.fine_fen == 0:
        return None
    note = f"implementation on {implemented_on}; {decided.reason}"
    return _late_form(
        pack, decided, "PEN-5", ticket_id, engineer_id, outlet_id, completion_event_id, note, now
    )


@dataclass(frozen=True)
class PenaltyState:
    penalty_id: str
    status: str  # assessed | appealed | voided | upheld
    ticket_id: str = ""
    engineer_id: str | None = None  # whose fine it is: he may appeal it


def evolve(state: PenaltyState | None, event: Event) -> PenaltyState | None:
    match event:
        case PenaltyAssessed():
            return PenaltyState(event.penalty_id, "assessed", event.ticket_id, event.engineer_id)
        case PenaltyAppealed() if state:
            return replace(state, status="appealed")
        case PenaltyVoided() if state:
            return replace(state, status="voided")
        case PenaltyUpheld() if state:
            return replace(state, status="upheld")
    return state


def fold_penalty(penalty_id: str, events: Iterable[Event]) -> PenaltyState | None:
    """The penalty's state, or None before it is assessed (``penalty_id`` is its id)."""
    return reduce(evolve, events, None)


def fold(stream_id: str, events: Iterable[Event]) -> PenaltyState | None:
    """The penalty of the stream `penalty:<id>`."""
    return fold_penalty(stream_id.removeprefix("penalty:"), events)


@dataclass(frozen=True)
class AppealPenalty:
    """The penalised engineer or outlet appeals; a manager rules."""

    penalty_id: str
    reason: str


@dataclass(frozen=True)
class RulePenalty:
    """A manager voids or upholds an appealed penalty; nothing is ever deleted."""

    penalty_id: str
    void: bool
    manager_id: str
    reason: str


def decide(
    state: PenaltyState, command: AppealPenalty | RulePenalty, *, now: datetime
) -> list[Event]:
    """An appeal of an assessed penalty, or the ruling on an appealed one."""
    if isinstance(command, AppealPenalty):
        return [decide_appeal(state, state.ticket_id, reason=command.reason, now=now)]
    ruling = decide_ruling(
        state,
        state.ticket_id,
        void=command.void,
        manager_id=command.manager_id,
        reason=command.reason,
        now=now,
    )
    return [ruling]


def decide_appeal(
    state: PenaltyState, ticket_id: str, *, reason: str, now: datetime
) -> PenaltyAppealed:
    if state.status != "assessed":
        raise IllegalTransition(f"penalty {state.penalty_id} is {state.status}", state.status)
    return PenaltyAppealed(
        ticket_id=ticket_id, penalty_id=state.penalty_id, reason=reason, appealed_at=now
    )


def decide_ruling(
    state: PenaltyState, ticket_id: str, *, void: bool, manager_id: str, reason: str, now: datetime
) -> PenaltyVoided | PenaltyUpheld:
    """A manager voids or upholds an appealed penalty; nothing is ever deleted."""
    if state.status != "appealed":
        raise IllegalTransition(
            f"penalty {state.penalty_id} is {state.status}: only an appeal can be ruled on",
            state.status,
        )
    if void:
        return PenaltyVoided(
            ticket_id=ticket_id,
            penalty_id=state.penalty_id,
            manager_id=manager_id,
            reason=reason,
            voided_at=now,
        )
    return PenaltyUpheld(
        ticket_id=ticket_id,
        penalty_id=state.penalty_id,
        manager_id=manager_id,
        reason=reason,
        upheld_at=now,
    )


# -- PEN-6: the engineer's unreachable record (stream `staff:<engineer>`) -----------------


@dataclass(frozen=True)
class RecordUnreachable:
    """The coordinator could not reach the engineer (PEN-6)."""

    engineer_id: str
    ticket_id: str
    note: str = ""
    fine_fen: int | None = None
    ticket_version: int | None = None
    """The intake version the caller was told: billing may not have seen the ticket yet."""


def staff_stream(engineer_id: str) -> str:
    return f"staff:{engineer_id}"


def decide_unreachable_record(command: RecordUnreachable, *, now: datetime) -> list[Event]:
    """The fact itself: kept whatever PEN-6 then decides."""
    return [
        StaffUnreachableRecorded(
            ticket_id=command.ticket_id,
            engineer_id=command.engineer_id,
            note=command.note,
            recorded_at=now,
        )
    ]


def decide_unreachable_penalty(
    pack: PolicyPack,
    command: RecordUnreachable,
    *,
    outlet_id: str | None,
    records: Sequence[tuple[str, str, datetime]],
    now: datetime,
) -> PenaltyAssessed | None:
    """PEN-6 over every record so far; a fine outside the pack's range is refused."""
    try:
        return decide_unreachable(
            pack,
            engineer_id=command.engineer_id,
            outlet_id=outlet_id,
            records=records,
            fine_fen=command.fine_fen,
            now=now,
        )
    except ValueError as exc:
        raise IllegalTransition(str(exc), "recorded") from exc


# -- the penalty clocks (PEN-2..5) and the facts that start them --------------------------

FORMS_CHECK = "forms_check"
RECORD_CHECK = "record_check"
REMOTE_RECORD_CHECK = "remote_record_check"
IMPLEMENTATION_FORM_CHECK = "implementation_form_check"


def completion_deadlines(
    pack: PolicyPack,
    *,
    ticket_id: str,
    completed_at: datetime,
    event_id: str,
    engineer_id: str | None,
) -> list[Due]:
    """PEN-2 (service forms) and PEN-5 (implementation form) start at the completion."""
    p = pack.penalties
    day = completed_at.astimezone(pack.zone).date()
    payload = {"service_on": day.isoformat(), "event_id": event_id, "engineer_id": engineer_id}
    clocks = [
        (p.form_late_fen, f"forms:{ticket_id}", FORMS_CHECK, p.form_grace_days),
        (
            p.implementation_form_fen,
            f"implementation-form:{ticket_id}",
            IMPLEMENTATION_FORM_CHECK,
            p.implementation_form_days,
        ),
    ]
    return [
        Due(timer_id, kind, ticket_id, check_deadline(pack, day, days), payload)
        for amount, timer_id, kind, days in clocks
        if amount is not None
    ]


def record_deadlines(
    pack: PolicyPack,
    *,
    ticket_id: str,
    at: datetime,
    event_id: str,
    engineer_id: str | None,
    remote: bool = False,
) -> list[Due]:
    """PEN-3 (a visit, from the arrival) and PEN-4 (a remote service, from its report):
    the service record is due by the end of the next day."""
    p = pack.penalties
    if (p.remote_unrecorded_fen if remote else p.visit_unrecorded_fen) is None:
        return []
    day = at.astimezone(pack.zone).date()
    return [
        Due(
            f"remote-record:{event_id}" if remote else f"record:{ticket_id}:{event_id}",
            REMOTE_RECORD_CHECK if remote else RECORD_CHECK,
            ticket_id,
            check_deadline(pack, day, p.form_grace_days),
            {"visit_on": day.isoformat(), "event_id": event_id, "engineer_id": engineer_id},
        )
    ]


@dataclass(frozen=True)
class CheckForms:
    """PEN-2 or PEN-5 once the deadline has passed: what was handed in by when."""

    ticket_id: str
    engineer_id: str | None
    service_on: date
    completion_event_id: str
    implementation: bool = False


@dataclass(frozen=True)
class CheckRecord:
    """PEN-3 or PEN-4 once the deadline has passed: is the service in the record?"""

    ticket_id: str
    engineer_id: str | None
    visit_on: date
    visit_event_id: str
    remote: bool = False


def decide_forms(
    pack: PolicyPack,
    command: CheckForms,
    *,
    handed_in: dict[str, date],
    outlet_id: str | None,
    now: datetime,
) -> PenaltyAssessed | None:
    common: dict[str, Any] = {
        "ticket_id": command.ticket_id,
        "engineer_id": command.engineer_id,
        "outlet_id": outlet_id,
        "handed_in": handed_in,
        "on": now.astimezone(pack.zone).date(),
        "completion_event_id": command.completion_event_id,
        "now": now,
    }
    if command.implementation:
        return decide_implementation_form_check(pack, implemented_on=command.service_on, **common)
    return decide_forms_check(pack, service_on=command.service_on, **common)


def decide_record(
    pack: PolicyPack,
    command: CheckRecord,
    *,
    recorded: bool,
    outlet_id: str | None,
    now: datetime,
) -> PenaltyAssessed | None:
    return decide_record_check(
        pack,
        ticket_id=command.ticket_id,
        engineer_id=command.engineer_id,
        outlet_id=outlet_id,
        recorded=recorded,
        visit_event_id=command.visit_event_id,
        visit_on=command.visit_on,
        now=now,
        remote=command.remote,
    )


@dataclass(frozen=True)
class JudgeComplaint:
    """Feedback verified a complaint: FEE-5 and PEN-1 as its triggers say."""

    complaint: VerifiedComplaint
    triggers: frozenset[str]


@dataclass(frozen=True)
class NoteMissedAppointment:
    """PEN-7: dispatch's MissedAppointment, by its wire fields, and its event id."""

    data: dict[str, Any]
    event_id: str
