"""Fees and billing (FEE-1..3, FEE-5..8), in integer fen.

Every amount is an ``int`` number of fen (1 yuan = 100 fen); nothing here uses float.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field

from repairline_rules.decision import Decision, Value, a_date, add_months, aware, stamp
from repairline_rules.packs import (
    CITY_TIERS,
    SERVICE_MODES,
    NotInPack,
    PolicyPack,
    UnknownProduct,
    require,
)
from repairline_rules.registry import rule


class PartUse(Value):
    """A part fitted in a repair; ``under_warranty`` comes from the warranty decision (WAR-1)."""

    code: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    under_warranty: bool


class ChargeLine(Value):
    """One line of a charge: what, how much, by which rule and why."""

    code: str
    description: str
    amount_fen: int = Field(ge=0)
    rule_id: str
    reason: str


class ChargeDecision(Decision):
    """What the customer pays for one repair, line by line (FEE-4: quoted before work)."""

    product: str
    city_tier: str
    service_mode: str
    lines: tuple[ChargeLine, ...]
    total_fen: int = Field(ge=0)
    needs_customer_agreement: bool = False


def _yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole} yuan" if cents == 0 else f"{whole}.{cents:02d} yuan"


def _service_line(
    pack: PolicyPack,
    product: str,
    city_tier: str,
    service_mode: str,
    unit_in_warranty: bool,
    free_visit: bool,
    covered_by_contract: bool,
) -> ChargeLine:
    code = "visit" if service_mode == "on_site" else "depot_repair"
    description = "On-site visit" if service_mode == "on_site" else "Depot repair"
    if covered_by_contract:
        # FEE-8: visits under a maintenance contract are unlimited and free.
        return ChargeLine(
            code=code,
            description=description,
            amount_fen=0,
            rule_id="FEE-8",
            reason="covered by the maintenance contract",
        )
    if free_visit:
        # WAR-1: a visit to a unit in its whole-unit warranty is free.
        reason = "in warranty" if unit_in_warranty else "free visit"
        return ChargeLine(
            code=code, description=description, amount_fen=0, rule_id="WAR-1", reason=reason
        )
    tariff = pack.visit_tariff(product)
    fees = tariff.on_site if service_mode == "on_site" else tariff.depot
    if fees is None:
        raise UnknownProduct(f"pack {pack.id!r} has no {service_mode} tariff for {product!r}")
    amount = fees.for_tier(city_tier)
    if unit_in_warranty:
        # WAR-2: in warranty but outside the free on-site period.
        reason = f"outside the free on-site period: {service_mode} tariff, {city_tier}"
    else:
        # WAR-1 / FEE-1: out of the whole-unit warranty, even if the part is covered.
        reason = f"out of warranty: {service_mode} tariff, {city_tier}"
    return ChargeLine(
        code=code, description=description, amount_fen=amount, rule_id="FEE-1", reason=reason
    )


def _part_line(pack: PolicyPack, part: PartUse) -> ChargeLine:
    listed = pack.fees.parts.get(part.code)
    description = listed.description if listed else part.code
    label = f"{description} x{part.quantity}"
    if part.under_warranty:
        # WAR-1: a part under warranty is free even when the unit is not.
        return ChargeLine(
            code=f"part:{part.code}",
            description=label,
            amount_fen=0,
            rule_id="WAR-1",
            reason="part in warranty",
        )
    if listed is None:
        raise UnknownProduct(f"pack {pack.id!r} has no price for part {part.code!r}")
    return ChargeLine(
        code=f"part:{part.code}",
        description=label,
        amount_fen=listed.price_fen * part.quantity,
        rule_id="FEE-1",
        reason=f"price list {_yuan(listed.price_fen)} each",
    )


def _travel_line(
    pack: PolicyPack, distance_km: Decimal, agreed_travel_fee_fen: int | None
) -> tuple[ChargeLine | None, bool]:
    distance = pack.fees.distance
    if distance is None:
        return None, False
    if distance_km <= distance.free_km:
        # FEE-2: free within the free distance.
        return (
            ChargeLine(
                code="travel",
                description="Travel",
                amount_fen=0,
                rule_id="FEE-2",
                reason=f"within {distance.free_km} km",
            ),
            False,
        )
    cap = distance.travel_fee_cap_fen
    beyond = f"{distance_km} km, beyond {distance.free_km} km"
    if agreed_travel_fee_fen is None:
        # FEE-2 with FEE-4: quoted at the cap until the customer agrees an amount.
        reason = f"{beyond}: not yet agreed, quoted at the {_yuan(cap)} cap"
        amount, open_ = cap, True
    elif agreed_travel_fee_fen > cap:
        reason = f"{beyond}: agreed {_yuan(agreed_travel_fee_fen)}, capped at {_yuan(cap)}"
        amount, open_ = cap, False
    else:
        reason = f"{beyond}: agreed with the customer"
        amount, open_ = agreed_travel_fee_fen, False
    line = ChargeLine(
        code="travel", description="Travel", amount_fen=amount, rule_id="FEE-2", reason=reason
    )
    return line, open_


def _wiring_line(pack: PolicyPack, extra_wiring_m: int) -> ChargeLine | None:
    if extra_wiring_m == 0:
        return None
    wiring = require(pack.fees.wiring, pack, "fees.wiring", "FEE-3")
    charged_m = max(0, extra_wiring_m - wiring.free_m)
    # FEE-3: labour per metre beyond the free length; materials are charged as parts.
    return ChargeLine(
        code="wiring",
        description=f"Dedicated supply line, {extra_wiring_m} m (labour)",
        amount_fen=charged_m * wiring.labour_fen_per_m,
        rule_id="FEE-3",
        reason=(
            f"{charged_m} m beyond the free {wiring.free_m} m "
            f"at {_yuan(wiring.labour_fen_per_m)} per metre"
        ),
    )


@rule("FEE-1", "FEE-2", "FEE-3", "FEE-8", "WAR-1")
def assess_charge(
    pack: PolicyPack,
    *,
    product: str,
    city_tier: str,
    service_mode: str,
    unit_in_warranty: bool,
    parts: Sequence[PartUse] = (),
    distance_km: Decimal | int = 0,
    agreed_travel_fee_fen: int | None = None,
    extra_wiring_m: int = 0,
    free_visit: bool | None = None,
    covered_by_contract: bool = False,
) -> ChargeDecision:
    """The charge for one repair: visit or depot fee, parts, travel and wiring.

    The visit fee comes from the FEE-1 tariff when the unit is out of its whole-unit
    warranty, even if the part is covered (WAR-1). ``free_visit`` overrides
    ``unit_in_warranty`` for an on-site visit only: pass ``WarrantyDecision.free_visit``
    where the free on-site period is shorter than the warranty (WAR-2); a depot repair
    under warranty stays free. ``extra_wiring_m`` is the
    length of dedicated supply line laid; the pack's free length is deducted (FEE-3).
    Travel beyond the free distance is charged as agreed, at most the cap (FEE-2); with
    no agreed amount it is quoted at the cap and ``needs_customer_agreement`` is set.
    Packs without city tiers hold one fee for every tier. Free items appear as lines
    at 0 with their reason.
    """
    if city_tier not in CITY_TIERS:
        raise ValueError(f"city_tier must be one of {', '.join(CITY_TIERS)}, got {city_tier!r}")
    if service_mode not in SERVICE_MODES:
        raise ValueError(f"service_mode must be one of {', '.join(SERVICE_MODES)}")
    if isinstance(distance_km, float) or not isinstance(distance_km, Decimal | int):
        raise TypeError("distance_km must be a Decimal or an int")
    distance = Decimal(distance_km)
    if distance < 0 or not distance.is_finite():
        raise ValueError("distance_km must be a finite, non-negative number")
    if agreed_travel_fee_fen is not None and agreed_travel_fee_fen < 0:
        raise ValueError("agreed_travel_fee_fen must not be negative")
    if extra_wiring_m < 0:
        raise ValueError("extra_wiring_m must not be negative")
    # WAR-2: the free on-site period only limits visits; a depot repair under warranty
    # stays free.
    visit_is_free = unit_in_warranty
    if service_mode == "on_site" and free_visit is not None:
        visit_is_free = free_visit

    lines = [
        _service_line(
            pack,
            product,
            city_tier,
            service_mode,
            unit_in_warranty,
            visit_is_free,
            covered_by_contract,
        )
    ]
    lines.extend(_part_line(pack, part) for part in parts)
    needs_agreement = False
    if service_mode == "on_site":
        travel, needs_agreement = _travel_line(pack, distance, agreed_travel_fee_fen)
        if travel is not None:
            lines.append(travel)
    wiring = _wiring_line(pack, extra_wiring_m)
    if wiring is not None:
        lines.append(wiring)
    return ChargeDecision(
        **stamp(pack, (line.rule_id for line in lines)),
        product=product,
        city_tier=city_tier,
        service_mode=service_mode,
        lines=tuple(lines),
        total_fen=sum(line.amount_fen for line in lines),
        needs_customer_agreement=needs_agreement,
    )


class OverchargeFineDecision(Decision):
    """FEE-5: the fine on an outlet for charging more than the tariff."""

    charged_fen: int
    tariff_fen: int
    excess_fen: int
    fine_fen: int
    reason: str


@rule("FEE-5")
def overcharge_fine(
    pack: PolicyPack, *, charged_fen: int, tariff_fen: int
) -> OverchargeFineDecision:
    """FEE-5: a verified overcharge fines the outlet ``multiplier`` times the excess."""
    if charged_fen < 0 or tariff_fen < 0:
        raise ValueError("amounts must not be negative")
    excess = max(0, charged_fen - tariff_fen)
    multiplier = pack.fees.overcharge_fine_multiplier
    reason = (
        f"charged {_yuan(excess)} over the tariff: {multiplier} times the excess"
        if excess
        else "charged within the tariff: no fine"
    )
    return OverchargeFineDecision(
        **stamp(pack, ["FEE-5"]),
        charged_fen=charged_fen,
        tariff_fen=tariff_fen,
        excess_fen=excess,
        fine_fen=excess * multiplier,
        reason=reason,
    )


class SettlementDecision(Decision):
    """FEE-6: when the maker must pay an outlet's service fees."""

    voucher_received_on: date
    voucher_valid: bool
    pay_by: date | None
    reason: str


@rule("FEE-6")
def settlement_due(
    pack: PolicyPack, *, voucher_received_on: date, voucher_valid: bool = True
) -> SettlementDecision:
    """FEE-6: pay within ``settlement_days`` of receiving a valid settlement voucher.

    An invalid voucher starts no clock: ``pay_by`` is None until a valid one arrives.
    """
    a_date(voucher_received_on, "voucher_received_on")
    days = pack.fees.settlement_days
    if not voucher_valid:
        pay_by, reason = None, "voucher not valid: no payment due until a valid one arrives"
    else:
        pay_by = voucher_received_on + timedelta(days=days)
        reason = f"{days} days after a valid voucher was received"
    return SettlementDecision(
        **stamp(pack, ["FEE-6"]),
        voucher_received_on=voucher_received_on,
        voucher_valid=voucher_valid,
        pay_by=pay_by,
        reason=reason,
    )


class TravelAllowanceDecision(Decision):
    """FEE-7: an engineer's travel allowance for one trip."""

    trip_days: Decimal
    meals_fen: int
    hotel_fen: int
    total_fen: int
    reason: str


@rule("FEE-7")
def travel_allowance(
    pack: PolicyPack,
    *,
    departed_at: datetime,
    returned_at: datetime,
    hotel_fen_per_night: Sequence[int] = (),
) -> TravelAllowanceDecision:
    """FEE-7: meals per trip day and hotel per night up to the cap.

    Trip days are counted in the pack's local time: every calendar day of the trip
    counts whole, except that the first day counts half when leaving after the
    cut-off (12:00) and the last day counts half when returning before it. A
    one-day trip is half if either applies. ``hotel_fen_per_night`` holds the
    receipts, one per night, each reimbursed up to the cap.
    """
    spec = require(pack.fees.travel_allowance, pack, "fees.travel_allowance", "FEE-7")
    zone = pack.zone
    leave = aware(departed_at, "departed_at").astimezone(zone)
    back = aware(returned_at, "returned_at").astimezone(zone)
    if back < leave:
        raise ValueError("returned_at is before departed_at")
    hours, minutes = (int(part) for part in spec.half_day_cutoff.split(":"))
    cutoff = time(hours, minutes)
    leaves_late = leave.time() > cutoff
    returns_early = back.time() < cutoff
    calendar_days = (back.date() - leave.date()).days + 1
    if calendar_days == 1:
        half_days = 1 if (leaves_late or returns_early) else 2
    else:
        half_days = 2 * calendar_days - int(leaves_late) - int(returns_early)
    nights = calendar_days - 1
    if len(hotel_fen_per_night) > nights:
        raise ValueError(f"{len(hotel_fen_per_night)} hotel receipts for {nights} nights")
    if any(amount < 0 for amount in hotel_fen_per_night):
        raise ValueError("hotel receipts must not be negative")
    meals = half_days * spec.meals_fen_per_day // 2
    hotel = sum(min(amount, spec.hotel_cap_fen_per_night) for amount in hotel_fen_per_night)
    trip_days = Decimal(half_days) / 2
    return TravelAllowanceDecision(
        **stamp(pack, ["FEE-7"]),
        trip_days=trip_days,
        meals_fen=meals,
        hotel_fen=hotel,
        total_fen=meals + hotel,
        reason=(
            f"{trip_days} trip days (left {leave:%H:%M}, back {back:%H:%M}); "
            f"hotel capped at {_yuan(spec.hotel_cap_fen_per_night)} per night"
        ),
    )


class ContractDecision(Decision):
    """FEE-8: whether a maintenance contract covers a visit on a given day."""

    contract_start: date
    contract_end: date
    covered: bool
    visits_unlimited: bool
    pricing: Literal["contract", "per_item"]
    reason: str


@rule("FEE-8")
def contract_coverage(
    pack: PolicyPack, *, contract_start: date, on: date, visits_used: int = 0
) -> ContractDecision:
    """FEE-8: a contract runs ``months`` (one year) from its start with unlimited visits;
    a repair outside it is priced per item (``assess_charge`` with the pack's tariff)."""
    spec = pack.fees.contract
    if spec is None:
        raise NotInPack(f"pack {pack.id!r} {pack.version} has no maintenance contracts (FEE-8)")
    a_date(contract_start, "contract_start")
    a_date(on, "on")
    end = add_months(contract_start, spec.months) - timedelta(days=1)
    limit = spec.visits_per_term
    in_term = contract_start <= on <= end
    within_visits = limit is None or visits_used < limit
    covered = in_term and within_visits
    if not in_term:
        reason = f"outside the contract term {contract_start} to {end}: priced per item"
    elif not within_visits:
        reason = f"all {limit} contract visits used: priced per item"
    else:
        reason = f"within the contract term {contract_start} to {end}"
    return ContractDecision(
        **stamp(pack, ["FEE-8"]),
        contract_start=contract_start,
        contract_end=end,
        covered=covered,
        visits_unlimited=limit is None,
        pricing="contract" if covered else "per_item",
        reason=reason,
    )
