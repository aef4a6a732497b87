"""Billing decisions: pure, over the policy pack and the facts the ticket carried.

Quotes (FEE-4) and the invoice live in the ticket's stream; penalties in a stream of
their own each (`penalty:<id>`), settlement statements in `settlement:<outlet>:<period>`.
Times are passed in; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from repairline_contracts.base import Decision, Event
from repairline_contracts.billing import (
    AssessmentCounts,
    ChargeAssessed,
    ChargeInputs,
    ChargeLine,
    EngineerAssessed,
    Evidence,
    OverchargeRefunded,
    PenaltyAppealed,
    PenaltyAssessed,
    PenaltyUpheld,
    PenaltyVoided,
    QuoteAccepted,
    QuotedPart,
    QuoteInputs,
    QuoteIssued,
    QuoteRefused,
    RemoteServiceReported,
    SettlementLine,
    SettlementStatementIssued,
    StaffUnreachableRecorded,
    TravelAllowanceGranted,
)
from repairline_rules import assessment, fees, ledger, penalties, warranty
from repairline_rules.fees import PartUse
from repairline_rules.packs import PolicyPack

# -- the ticket ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeWarranty:
    """Intake's WarrantyDecided, when it has arrived: it takes precedence over billing's own."""

    unit_in_warranty: bool
    free_visit: bool
    chargeable: bool
    reason: str


@dataclass(frozen=True)
class PriorRepair:
    """An earlier invoiced repair of the same unit (same serial number), for WAR-10."""

    ticket_id: str
    completed_on: date
    out_of_warranty: bool
    parts: frozenset[str]


@dataclass(frozen=True)
class TicketFacts:
    """What billing keeps of a RepairRequested (and of the assignment and warranty)."""

    ticket_id: str
    product_line: str
    city_tier: str
    service_mode: str
    purchase_date: date | None
    serial_no: str | None = None
    requested_on: date | None = None
    engineer_id: str | None = None
    outlet_id: str | None = None
    intake_warranty: IntakeWarranty | None = None


@dataclass(frozen=True)
class Reward:
    """WAR-11: a constructive survey answer's reward held for this unit."""

    kind: str  # free_repair | warranty_extension
    extended_ends_on: date | None
    reason: str


class IllegalTransition(Exception):
    """A command that the ticket's billing state does not allow (answered 409)."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


@dataclass(frozen=True)
class Quote:
    quote_id: str
    total_fen: int
    lines: tuple[ChargeLine, ...]
    inputs: QuoteInputs
    status: str = "issued"  # issued | accepted | refused | superseded


@dataclass(frozen=True)
class Account:
    """A ticket as billing sees it: a fold of billing's own events on the ticket's stream."""

    ticket_id: str
    quotes: tuple[Quote, ...] = ()
    invoiced: bool = False
    version: int = 0

    @property
    def latest(self) -> Quote | None:
        return self.quotes[-1] if self.quotes else None

    @property
    def accepted(self) -> Quote | None:
        for quote in reversed(self.quotes):
            if quote.status == "accepted":
                return quote
        return None

    @property
    def refused(self) -> bool:
        return self.accepted is None and any(q.status == "refused" for q in self.quotes)

    @property
    def state(self) -> str:
        if self.invoiced:
            return "invoiced"
        if self.accepted is not None:
            return "quote_accepted"
        if self.latest is None:
            return "no_quote"
        return f"quote_{self.latest.status}"


def _set_status(quotes: tuple[Quote, ...], quote_id: str, status: str) -> tuple[Quote, ...]:
    return tuple(replace(q, status=status) if q.quote_id == quote_id else q for q in quotes)


def evolve(account: Account, event: Event) -> Account:
    account = replace(account, version=account.version + 1)
    match event:
        case QuoteIssued():
            earlier = tuple(
                replace(q, status="superseded") if q.status == "issued" else q
                for q in account.quotes
            )
            quote = Quote(event.quote_id, event.total_fen, event.lines, event.inputs)
            return replace(account, quotes=(*earlier, quote))
        case QuoteAccepted():
            quotes = tuple(
                replace(q, status="superseded") if q.status == "accepted" else q
                for q in account.quotes
            )
            return replace(account, quotes=_set_status(quotes, event.quote_id, "accepted"))
        case QuoteRefused():
            return replace(account, quotes=_set_status(account.quotes, event.quote_id, "refused"))
        case ChargeAssessed():
            return replace(account, invoiced=True)
    return account


def fold(ticket_id: str, events: Iterable[Event]) -> Account:
    account = Account(ticket_id)
    for event in events:
        account = evolve(account, event)
    return account


# -- pricing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuoteRequest:
    """What the engineer states on site (FEE-4): parts, distance, wiring."""

    parts: tuple[tuple[str, int], ...] = ()
    distance_km: Decimal = Decimal(0)
    agreed_travel_fee_fen: int | None = None
    extra_wiring_m: int = 0
    engineer_id: str | None = None


@dataclass(frozen=True)
class Pricing:
    """Everything a charge is computed from, and the charge."""

    charge: fees.ChargeDecision
    cover: warranty.WarrantyDecision
    unit_in_warranty: bool
    free_visit: bool
    warranty_source: str
    warranty_reason: str
    parts: tuple[QuotedPart, ...]
    lines: tuple[ChargeLine, ...]
    free_reason: str | None
    rule_ids: tuple[str, ...]
    extra_rule_ids: tuple[str, ...] = field(default=())


def _line(line: fees.ChargeLine) -> ChargeLine:
    return ChargeLine(
        code=line.code,
        description=line.description,
        amount_fen=line.amount_fen,
        rule_id=line.rule_id,
        reason=line.reason,
    )


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals, by integer arithmetic (no float)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _free_lines(lines: Sequence[ChargeLine], rule_id: str, why: str) -> tuple[ChargeLine, ...]:
    return tuple(
        line
        if line.amount_fen == 0
        else ChargeLine(
            code=line.code,
            description=line.description,
            amount_fen=0,
            rule_id=rule_id,
            reason=f"{why}; by {line.rule_id} it would be {yuan(line.amount_fen)} yuan",
        )
        for line in lines
    )


def price(
    pack: PolicyPack,
    facts: TicketFacts,
    request: QuoteRequest,
    *,
    on: date,
    prior: Sequence[PriorRepair] = (),
    reward: Reward | None = None,
    contract_start: date | None = None,
) -> Pricing:
    """FEE-1..3, FEE-8 with WAR-1, WAR-2, WAR-10 and WAR-11: what the repair costs."""
    codes = [code for code, _ in request.parts]
    cover = warranty.assess_warranty(
        pack,
        product=facts.product_line,
        on=on,
        proof=warranty.Proof(invoice_date=facts.purchase_date),
        parts=codes,
    )
    unit_in_warranty, free_visit = cover.unit_in_warranty, cover.free_visit
    source, reason = "billing", cover.reason
    part_covered = {p.code: p.covered for p in cover.parts}
    rule_ids = list(cover.rule_ids)
    if facts.intake_warranty is not None:
        iw = facts.intake_warranty
        source, reason = "intake", iw.reason
        if iw.chargeable and not iw.unit_in_warranty and cover.unit_in_warranty:
            # intake found an exclusion (WAR-4) billing cannot see: parts are charged too
            part_covered = dict.fromkeys(part_covered, False)
        unit_in_warranty, free_visit = iw.unit_in_warranty, iw.free_visit
    extended_to = reward.extended_ends_on if reward is not None else None
    if (
        reward is not None
        and reward.kind == "warranty_extension"
        and extended_to is not None
        and on <= extended_to
        and not unit_in_warranty
    ):
        # WAR-11: 12 more months of warranty for a constructive survey answer
        unit_in_warranty = free_visit = True
        part_covered = dict.fromkeys(part_covered, True)
        reason = f"warranty extended to {extended_to} (WAR-11)"
        rule_ids.append("WAR-11")
    covered_by_contract = False
    if contract_start is not None and pack.fees.contract is not None:
        contract = fees.contract_coverage(pack, contract_start=contract_start, on=on)
        covered_by_contract = contract.covered
        rule_ids.extend(contract.rule_ids)
    parts = tuple(
        QuotedPart(code=code, quantity=qty, under_warranty=part_covered.get(code, False))
        for code, qty in request.parts
    )
    charge = fees.assess_charge(
        pack,
        product=facts.product_line,
        city_tier=facts.city_tier,
        service_mode=facts.service_mode,
        unit_in_warranty=unit_in_warranty,
        free_visit=free_visit,
        parts=[
            PartUse(code=p.code, quantity=p.quantity, under_warranty=p.under_warranty)
            for p in parts
        ],
        distance_km=request.distance_km,
        agreed_travel_fee_fen=request.agreed_travel_fee_fen,
        extra_wiring_m=request.extra_wiring_m,
        covered_by_contract=covered_by_contract,
    )
    lines = tuple(_line(line) for line in charge.lines)
    rule_ids.extend(charge.rule_ids)
    free_reason = None
    recurrence = _recurrence(pack, facts, codes, prior)
    if recurrence is not None:
        rule_ids.extend(recurrence.rule_ids)
        if recurrence.free:
            free_reason = f"WAR-10: {recurrence.reason}"
            lines = _free_lines(lines, "WAR-10", free_reason)
    if (
        free_reason is None
        and reward is not None
        and reward.kind == "free_repair"
        and any(line.amount_fen for line in lines)
    ):
        free_reason = f"WAR-11: {reward.reason}"
        lines = _free_lines(lines, "WAR-11", free_reason)
        rule_ids.append("WAR-11")
    return Pricing(
        charge=charge,
        cover=cover,
        unit_in_warranty=unit_in_warranty,
        free_visit=free_visit,
        warranty_source=source,
        warranty_reason=reason,
        parts=parts,
        lines=lines,
        free_reason=free_reason,
        rule_ids=tuple(dict.fromkeys(rule_ids)),
    )


def _recurrence(
    pack: PolicyPack, facts: TicketFacts, codes: Sequence[str], prior: Sequence[PriorRepair]
) -> warranty.RepairQualityDecision | None:
    """WAR-10: the latest earlier repair of this unit, judged against today's fault."""
    failed_on = facts.requested_on
    if failed_on is None:
        return None
    earlier = [p for p in prior if p.ticket_id != facts.ticket_id and p.completed_on <= failed_on]
    if not earlier:
        return None
    last = max(earlier, key=lambda p: p.completed_on)
    return warranty.repeat_failure(
        pack,
        repaired_on=last.completed_on,
        failed_on=failed_on,
        repair_was_out_of_warranty=last.out_of_warranty,
        same_key_part=bool(last.parts & set(codes)),
    )


def _decision(pack: PolicyPack, rule_ids: Iterable[str]) -> Decision:
    return Decision(
        pack_id=pack.id, pack_version=str(pack.version), rule_ids=tuple(dict.fromkeys(rule_ids))
    )


def decide_quote(
    pack: PolicyPack,
    account: Account,
    facts: TicketFacts,
    request: QuoteRequest,
    *,
    quote_id: str,
    now: datetime,
    prior: Sequence[PriorRepair] = (),
    reward: Reward | None = None,
    contract_start: date | None = None,
) -> QuoteIssued:
    """FEE-4: the quote stated before work. Not after the invoice."""
    if account.invoiced:
        raise IllegalTransition("the ticket is already invoiced", account.state)
    pricing = price(
        pack,
        facts,
        request,
        on=now.astimezone(pack.zone).date(),
        prior=prior,
        reward=reward,
        contract_start=contract_start,
    )
    return QuoteIssued(
        ticket_id=facts.ticket_id,
        quote_id=quote_id,
        engineer_id=request.engineer_id or facts.engineer_id,
        lines=pricing.lines,
        total_fen=sum(line.amount_fen for line in pricing.lines),
        needs_customer_agreement=pricing.charge.needs_customer_agreement,
        inputs=QuoteInputs(
            product_line=facts.product_line,
            city_tier=facts.city_tier,
            service_mode=facts.service_mode,
            unit_in_warranty=pricing.unit_in_warranty,
            free_visit=pricing.free_visit,
            warranty_source=pricing.warranty_source,  # type: ignore[arg-type]
            warranty_reason=pricing.warranty_reason,
            parts=pricing.parts,
            distance_km=str(request.distance_km),
            agreed_travel_fee_fen=request.agreed_travel_fee_fen,
            extra_wiring_m=request.extra_wiring_m,
            covered_by_contract=any(line.rule_id == "FEE-8" for line in pricing.lines),
        ),
        decision=_decision(pack, (*pricing.rule_ids, "FEE-4")),
        issued_at=now,
    )


def _open_quote(account: Account, quote_id: str) -> Quote:
    if account.invoiced:
        raise IllegalTransition("the ticket is already invoiced", account.state)
    latest = account.latest
    if latest is None or all(q.quote_id != quote_id for q in account.quotes):
        raise IllegalTransition(f"no quote {quote_id} on this ticket", account.state)
    if latest.quote_id != quote_id:
        raise IllegalTransition(f"quote {quote_id} was superseded by a later quote", account.state)
    if latest.status != "issued":
        raise IllegalTransition(f"quote {quote_id} is already {latest.status}", account.state)
    return latest


def decide_acceptance(account: Account, quote_id: str, *, now: datetime) -> QuoteAccepted:
    """FEE-4: the customer accepts the latest quote; work may start."""
    quote = _open_quote(account, quote_id)
    return QuoteAccepted(
        ticket_id=account.ticket_id, quote_id=quote_id, total_fen=quote.total_fen, accepted_at=now
    )


def decide_refusal(account: Account, quote_id: str, *, reason: str, now: datetime) -> QuoteRefused:
    """FEE-4: the customer refuses: no work and no charge."""
    _open_quote(account, quote_id)
    return QuoteRefused(
        ticket_id=account.ticket_id, quote_id=quote_id, refused_at=now, reason=reason
    )


def decide_charge(
    pack: PolicyPack,
    facts: TicketFacts,
    *,
    completed_at: datetime,
    account: Account | None = None,
    prior: Sequence[PriorRepair] = (),
    reward: Reward | None = None,
    contract_start: date | None = None,
    parts_replaced: Sequence[str] = (),
) -> ChargeAssessed:
    """The invoice after completion (FEE-1, WAR-1, FEE-4), itemised, with every input.

    With an accepted quote the invoice bills the quote's lines, and names any part the
    repair record says was replaced but was not quoted (not charged: FEE-4). A refused
    quote means no work and no charge. Without a quote the repair is charged by the
    tariff, with the parts of the repair record from the price list, free under
    warranty (WAR-1); a part not on the price list is listed at 0.
    """
    account = account or Account(facts.ticket_id)
    on = completed_at.astimezone(pack.zone).date()
    accepted = account.accepted
    free_reason = None
    unquoted: list[str] = []
    if accepted is not None:
        lines = accepted.lines
        parts = accepted.inputs.parts
        unit_in_warranty = accepted.inputs.unit_in_warranty
        rule_ids: tuple[str, ...] = tuple(line.rule_id for line in lines)
        quoted = {p.code for p in parts}
        unquoted = list(dict.fromkeys(c for c in parts_replaced if c not in quoted))
    else:
        replaced = _count(parts_replaced) if not account.refused else ()
        listed = tuple((c, n) for c, n in replaced if c in pack.fees.parts)
        pricing = price(
            pack,
            facts,
            QuoteRequest(parts=listed),
            on=on,
            prior=prior,
            reward=reward,
            contract_start=contract_start,
        )
        lines, parts = pricing.lines, pricing.parts
        unit_in_warranty, free_reason = pricing.unit_in_warranty, pricing.free_reason
        rule_ids = pricing.rule_ids
        unlisted = [(c, n) for c, n in replaced if c not in pack.fees.parts]
        if unlisted:
            lines = (*lines, *(_unlisted_line(c, n) for c, n in unlisted))
        if account.refused:
            lines = tuple(
                ChargeLine(
                    code=line.code,
                    description=line.description,
                    amount_fen=0,
                    rule_id="FEE-4",
                    reason="quote refused: no work and no charge",
                )
                for line in lines[:1]
            )
    check = ledger.invoice_against_quote(
        pack,
        invoiced=[fees.ChargeLine(**line.model_dump()) for line in lines],
        accepted=(
            [fees.ChargeLine(**line.model_dump()) for line in accepted.lines]
            if accepted is not None
            else None
        ),
        refused=account.refused,
        free_reason=free_reason,
    )
    matches, note = check.matches_quote, check.note
    if unquoted:
        # FEE-4: work beyond the accepted quote is not charged silently
        matches = False
        note = f"{note}; replaced but not quoted, not charged: {', '.join(unquoted)}"
    return ChargeAssessed(
        ticket_id=facts.ticket_id,
        total_fen=sum(line.amount_fen for line in lines),
        lines=lines,
        inputs=ChargeInputs(
            product_line=facts.product_line,
            city_tier=facts.city_tier,
            service_mode=facts.service_mode,
            unit_in_warranty=unit_in_warranty,
            purchase_date=facts.purchase_date.isoformat() if facts.purchase_date else None,
            completed_at=completed_at,
            parts=parts,
            free_reason=free_reason,
        ),
        decision=_decision(pack, (*rule_ids, *check.rule_ids)),
        assessed_at=completed_at,
        invoice_no=f"INV-{facts.ticket_id}",
        quote_id=accepted.quote_id if accepted is not None else None,
        matches_quote=matches,
        quote_note=note,
        engineer_id=facts.engineer_id,
        outlet_id=facts.outlet_id,
    )


def _count(codes: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """Part codes of the repair record, once each with how many were replaced."""
    counted: dict[str, int] = {}
    for code in codes:
        counted[code] = counted.get(code, 0) + 1
    return tuple(counted.items())


def _unlisted_line(code: str, quantity: int) -> ChargeLine:
    return ChargeLine(
        code=f"part:{code}",
        description=f"{code} x{quantity}",
        amount_fen=0,
        rule_id="FEE-1",
        reason="not on the published price list: not charged",
    )


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
        decision=_decision(pack, decided.rule_ids),
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
        decision=_decision(pack, decided.rule_ids),
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
        decision=_decision(pack, decided.rule_ids),
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


# -- settlement and travel ---------------------------------------------------------------


def period_bounds(pack: PolicyPack, period: str) -> tuple[datetime, datetime]:
    """A `YYYY-MM` month in the pack's time zone, as [start, end)."""
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=pack.zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=pack.zone)
    return start, end


def decide_statement(
    pack: PolicyPack,
    *,
    outlet_id: str,
    period: str,
    lines: Sequence[SettlementLine],
    voucher_received_on: date,
    now: datetime,
) -> SettlementStatementIssued:
    """FEE-6: fees earned minus refunds and fines, plus credits for fines voided after
    an earlier statement deducted them; paid within 60 days of the voucher."""
    due = fees.settlement_due(pack, voucher_received_on=voucher_received_on)
    fees_fen = sum(line.amount_fen for line in lines if line.kind == "fee")
    refunds = -sum(line.amount_fen for line in lines if line.kind == "refund")
    fines = -sum(line.amount_fen for line in lines if line.kind == "fine")
    credits = sum(line.amount_fen for line in lines if line.kind == "credit")
    ordered = tuple(sorted(lines, key=lambda line: (line.kind, line.ticket_id, line.ref_id)))
    return SettlementStatementIssued(
        ticket_id=f"outlet:{outlet_id}",
        statement_id=f"{outlet_id}:{period}",
        outlet_id=outlet_id,
        period=period,
        fees_fen=fees_fen,
        refunds_fen=refunds,
        fines_fen=fines,
        net_fen=fees_fen - refunds - fines + credits,
        lines=ordered,
        voucher_received_on=voucher_received_on,
        pay_by=due.pay_by,
        decision=_decision(pack, due.rule_ids),
        issued_at=now,
        credits_fen=credits,
    )


def void_credits(
    earlier: Sequence[SettlementStatementIssued], voided: Iterable[str]
) -> list[SettlementLine]:
    """FEE-6: a fine deducted on an earlier statement and voided since is credited once,
    on the next statement, with a line naming the penalty and the statement that took it.

    ``earlier`` is the outlet's statements already issued; ``voided`` the penalty ids now
    voided. A fine never deducted needs no credit (a later statement leaves it out), and
    a fine already credited is not credited again.
    """
    voided_ids = set(voided)
    credited = {line.ref_id for s in earlier for line in s.lines if line.kind == "credit"}
    credits: list[SettlementLine] = []
    for statement in sorted(earlier, key=lambda s: s.period):
        for line in statement.lines:
            if line.kind != "fine" or line.ref_id not in voided_ids or line.ref_id in credited:
                continue
            credited.add(line.ref_id)
            credits.append(
                SettlementLine(
                    kind="credit",
                    ref_id=line.ref_id,
                    ticket_id=line.ticket_id,
                    amount_fen=-line.amount_fen,
                    rule_id="FEE-6",
                    description=(
                        f"penalty {line.ref_id} voided after statement "
                        f"{statement.statement_id}: its fine is returned"
                    ),
                    earlier_statement_id=statement.statement_id,
                )
            )
    return credits


def decide_trip(
    pack: PolicyPack,
    *,
    ticket_id: str,
    trip_id: str,
    engineer_id: str,
    departed_at: datetime,
    returned_at: datetime,
    hotel_fen_per_night: Sequence[int],
    now: datetime,
) -> TravelAllowanceGranted:
    """FEE-7: the trip's meals and hotel allowance."""
    decided = fees.travel_allowance(
        pack,
        departed_at=departed_at,
        returned_at=returned_at,
        hotel_fen_per_night=hotel_fen_per_night,
    )
    return TravelAllowanceGranted(
        ticket_id=ticket_id,
        trip_id=trip_id,
        engineer_id=engineer_id,
        departed_at=departed_at,
        returned_at=returned_at,
        trip_days=str(decided.trip_days),
        meals_fen=decided.meals_fen,
        hotel_fen=decided.hotel_fen,
        total_fen=decided.total_fen,
        reason=decided.reason,
        decision=_decision(pack, decided.rule_ids),
        granted_at=now,
    )


# -- assessment (PEN-8) -------------------------------------------------------------------

ASSESSMENT_KINDS = tuple(assessment.AssessmentFacts.model_fields)


@dataclass(frozen=True)
class AssessmentFact:
    """One fact counted in an engineer's assessment: its kind and the event proving it."""

    kind: str  # one of ASSESSMENT_KINDS
    evidence: Evidence


def assessment_stream(engineer_id: str, period: str) -> str:
    return f"assessment:{engineer_id}:{period}"


def decide_assessment(
    pack: PolicyPack,
    *,
    engineer_id: str,
    period: str,
    facts: Sequence[AssessmentFact],
    assessed: bool,
    now: datetime,
) -> EngineerAssessed:
    """PEN-8: the engineer's month, scored once from the facts billing holds; each
    proving event counts once per kind."""
    if assessed:
        raise IllegalTransition(f"{engineer_id} is already assessed for {period}", "assessed")
    unique = {(f.kind, f.evidence.event_id): f for f in facts if f.kind in ASSESSMENT_KINDS}
    ordered = sorted(unique.values(), key=lambda f: (f.kind, f.evidence.event_id))
    counts = {kind: sum(1 for f in ordered if f.kind == kind) for kind in ASSESSMENT_KINDS}
    decided = assessment.assess_engineer(pack, facts=assessment.AssessmentFacts(**counts))
    return EngineerAssessed(
        ticket_id=f"engineer:{engineer_id}",
        engineer_id=engineer_id,
        period=period,
        attitude=decided.attitude,
        quality=decided.quality,
        efficiency=decided.efficiency,
        satisfaction=decided.satisfaction,
        total=decided.total,
        band=decided.band,
        counts=AssessmentCounts(**counts),
        evidence=tuple(f.evidence for f in ordered),
        reason=decided.reason,
        decision=_decision(pack, decided.rule_ids),
        assessed_at=now,
    )
