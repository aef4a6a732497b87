"""What a repair costs: the ticket's facts, the pricing (FEE-1..3, FEE-8) and the
warranty that makes it free (WAR-1, WAR-2, WAR-10, WAR-11). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from repairline_contracts.base import Decision
from repairline_contracts.billing import (
    ChargeLine,
    QuotedPart,
)
from repairline_rules import fees, warranty
from repairline_rules.fees import PartUse
from repairline_rules.packs import PolicyPack


@dataclass(frozen=True)
class IntakeWarranty:
    """Intake's WarrantyDecided, when it has arrived: it takes precedence over billing's own."""

    unit_in_warranty: bool
    free_visit: bool
    chargeable: bool
    reason: str
    exclusions: tuple[str, ...] = ()
    start_date: date | None = None
    """WAR-5: the date intake found the warranty runs from (its published `start_date`)."""
    start_source: str | None = None
    days_paused: int = 0

    @property
    def excluded(self) -> tuple[str, ...]:
        """WAR-4: what makes an in-warranty unit's repair chargeable (not its expiry)."""
        return tuple(x for x in self.exclusions if x != "expired")


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
    """The purchase date the customer stated (INT-3): dates the warranty only while intake
    has published no date of its own (`warranty_from`)."""
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
    """The invoice's line is the rule's line, field for field (a field either lacks fails)."""
    return ChargeLine.model_validate(line.model_dump())


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


def _excluded_lines(lines: Sequence[ChargeLine], excluded: Sequence[str]) -> tuple[ChargeLine, ...]:
    """WAR-4: a charged line says the repair was excluded and why, not "out of warranty"."""
    why = f"excluded under WAR-4 ({', '.join(excluded)})"
    return tuple(
        line
        if line.amount_fen == 0
        else line.model_copy(
            update={"reason": f"{why}: {line.reason.removeprefix('out of warranty: ')}"}
        )
        for line in lines
    )


@dataclass(frozen=True)
class WarrantyFrom:
    """WAR-5: the date a ticket's warranty runs from, what dated it, the days paused."""

    proof: warranty.Proof
    start_date: date | None
    source: str | None
    days_paused: int


def warranty_from(facts: TicketFacts) -> WarrantyFrom:
    """The date intake decided and published (WAR-3, WAR-5), never re-derived here; while
    intake has published none, the purchase date the customer stated (INT-3)."""
    iw = facts.intake_warranty
    start, source, paused = (
        (iw.start_date, iw.start_source, iw.days_paused) if iw else (None, None, 0)
    )
    proof = warranty.published(start, source, facts.purchase_date)
    start, source = warranty.start_of(proof)
    return WarrantyFrom(proof=proof, start_date=start, source=source, days_paused=paused)


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
    dated = warranty_from(facts)
    cover = warranty.assess_warranty(
        pack,
        product=facts.product_line,
        on=on,
        proof=dated.proof,
        parts=codes,
        days_in_repair=dated.days_paused,
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
        if iw.excluded:
            rule_ids.append("WAR-4")
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
    if facts.intake_warranty is not None and facts.intake_warranty.excluded:
        lines = _excluded_lines(lines, facts.intake_warranty.excluded)
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


def decided_by(outcome: Decision, rule_ids: Iterable[str]) -> Decision:
    """The pack and version of ``outcome`` with every rule that took part, once each."""
    return Decision.of(outcome).model_copy(update={"rule_ids": tuple(dict.fromkeys(rule_ids))})


@dataclass(frozen=True)
class PricingContext:
    """What billing holds about the ticket's unit when it prices it: the ticket's facts,
    earlier invoiced repairs (WAR-10), a reward held (WAR-11) and a contract (FEE-8)."""

    facts: TicketFacts
    prior: tuple[PriorRepair, ...] = ()
    reward: Reward | None = None
    contract_start: date | None = None
