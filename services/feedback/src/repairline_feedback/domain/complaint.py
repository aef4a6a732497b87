"""A complaint (FBK-6), in a stream of its own (`complaint:<id>`), keyed on the wire by
its ticket: filed from any channel, classified, answered within 3 working days or
escalated, then verified (on to PEN-1 or FEE-5 in billing) or dismissed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce

from repairline_contracts.base import Decision, Event
from repairline_contracts.feedback import (
    ComplaintAnswered,
    ComplaintDismissed,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintVerified,
)
from repairline_feedback.domain.followup import ServedTicket
from repairline_rules import followup
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import IllegalTransition, NotCaughtUp, NotFound

# -- commands -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileComplaint:
    """FBK-6: a complaint about a ticket; the engineer defaults to the ticket's."""

    ticket_id: str
    channel: str
    kind: str
    description: str
    engineer_id: str | None = None
    amount_paid_fen: int | None = None
    ticket_version: int | None = None
    """The intake version the caller was told: the ticket exists, feedback may lag."""


@dataclass(frozen=True)
class AnswerComplaint:
    """FBK-6: the customer was answered (apologise, listen, restate, resolve)."""

    complaint_id: str
    answer: str


@dataclass(frozen=True)
class VerifyComplaint:
    """The complaint was looked into: verified (on to PEN-1 / FEE-5) or dismissed."""

    complaint_id: str
    verified: bool
    finding: str


@dataclass(frozen=True)
class EscalateComplaint:
    """FBK-6: the answer window has passed (the complaint's timer)."""

    complaint_id: str


# -- state --------------------------------------------------------------------------------


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


def complaint_stream(complaint_id: str) -> str:
    return f"complaint:{complaint_id}"


def evolve(complaint: Complaint | None, event: Event) -> Complaint | None:
    match event:
        case ComplaintFiled():
            return Complaint(event)
        case ComplaintAnswered() if complaint:
            return replace(complaint, answered=True)
        case ComplaintEscalated() if complaint:
            return replace(complaint, escalated=True)
        case ComplaintVerified() if complaint:
            return replace(complaint, verified=True)
        case ComplaintDismissed() if complaint:
            return replace(complaint, verified=False)
    return complaint


def fold(stream_id: str, events: Iterable[Event]) -> Complaint | None:
    return reduce(evolve, events, None)


def fold_complaint(events: Iterable[Event]) -> Complaint | None:
    return fold("", events)


# -- decisions ----------------------------------------------------------------------------


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
        decision=Decision.of(decided),
        filed_at=now,
    )


def decide_file(
    pack: PolicyPack,
    cmd: FileComplaint,
    *,
    complaint_id: str,
    served: ServedTicket | None,
    now: datetime,
) -> list[Event]:
    """FBK-6: the complaint names the ticket's engineer and outlet unless told otherwise;
    a ticket the network never took is refused (nothing to answer, refund or fine)."""
    if served is None and cmd.ticket_version is not None:
        raise NotCaughtUp(f"feedback has not seen ticket {cmd.ticket_id} yet")
    if served is None:
        raise NotFound(f"no ticket {cmd.ticket_id}")
    return [
        decide_complaint(
            pack,
            complaint_id=complaint_id,
            ticket_id=cmd.ticket_id,
            channel=cmd.channel,
            kind=cmd.kind,
            description=cmd.description,
            engineer_id=cmd.engineer_id or served.engineer_id,
            outlet_id=served.outlet_id,
            amount_paid_fen=cmd.amount_paid_fen,
            now=now,
        )
    ]


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
    pack: PolicyPack, complaint: Complaint | None, *, now: datetime
) -> ComplaintEscalated | None:
    """FBK-6: not answered by the deadline: escalated as breached."""
    if complaint is None:
        return None
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
