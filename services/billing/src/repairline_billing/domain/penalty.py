"""Penalties (stream `penalty:<id>`): PEN-1..7 from the facts that prove them, FEE-5
overcharge refunds with the outlet's fine, appeals and rulings. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
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
    return _penalty(
        pack,
        decided,
        penalty_id=f"PEN-2:{ticket_id}",
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
                note=f"service on {service_on}; {decided.reason}",
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
    return _penalty(
        pack,
        decided,
        penalty_id=f"PEN-5:{ticket_id}",
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
                note=f"implementation on {implemented_on}; {decided.reason}",
            )
        ],
        now=now,
    )


@dataclass(frozen=True)
class PenaltyState:
    penalty_id: str
    status: str  # assessed | appealed | voided | upheld


def fold_penalty(penalty_id: str, events: Iterable[Event]) -> PenaltyState | None:
    state: PenaltyState | None = None
    for event in events:
        match event:
            case PenaltyAssessed():
                state = PenaltyState(penalty_id, "assessed")
            case PenaltyAppealed() if state:
                state = replace(state, status="appealed")
            case PenaltyVoided() if state:
                state = replace(state, status="voided")
            case PenaltyUpheld() if state:
                state = replace(state, status="upheld")
    return state


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
