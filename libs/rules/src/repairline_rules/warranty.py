"""Warranty (WAR-1..5), repair quality (WAR-10) and the extension reward (WAR-11)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from repairline_rules.decision import Decision, Value, a_date, add_months, stamp
from repairline_rules.packs import PolicyPack
from repairline_rules.registry import rule

Exclusion = Literal[
    "misuse",
    "unauthorised_party",
    "no_proof",
    "card_mismatch",
    "altered_documents",
    "natural_disaster",
    "supply_voltage",
    "wiring_not_to_code",
    "expired",
]
StartSource = Literal["invoice", "warranty_card", "other_proof", "serial_lookup", "stated"]
START_SOURCES: tuple[StartSource, ...] = (
    "invoice",
    "warranty_card",
    "other_proof",
    "serial_lookup",
    "stated",
)
"""WAR-5, WAR-3, INT-3: what dates the purchase, first found first."""


class Proof(Value):
    """WAR-3: what the customer can show, what the serial number says and, last, the
    purchase date the customer stated (INT-3)."""

    invoice_date: date | None = None
    warranty_card_date: date | None = None
    other_proof_date: date | None = None
    serial_lookup_date: date | None = None
    stated_purchase_date: date | None = None
    card_matches_product: bool = True
    documents_altered: bool = False


class Condition(Value):
    """WAR-4: how the unit was installed, used and supplied."""

    authorised_installer: bool = True
    unauthorised_repair: bool = False
    misuse: bool = False
    natural_disaster: bool = False
    supply_voltage_v: Decimal | None = None
    wiring_to_code: bool = True


class PartCover(Value):
    """One part's warranty: its term, when it ends and whether it is covered."""

    code: str
    months: int
    ends_on: date | None
    covered: bool


class WarrantyDecision(Decision):
    """Whether a repair is free: unit, visit and each part, and the exclusions found."""

    product: str
    decided_on: date
    start_date: date | None
    start_source: StartSource | None
    days_paused: int
    unit_ends_on: date | None
    free_on_site_ends_on: date | None
    unit_in_warranty: bool
    free_visit: bool
    parts: tuple[PartCover, ...]
    exclusions: tuple[Exclusion, ...]
    options: tuple[str, ...]
    reason: str


def published(start: date | None, source: str | None, stated: date | None = None) -> Proof:
    """The proof a consumer assesses with: the start intake decided and published (its
    date and source, WAR-3/WAR-5), else the purchase date the customer stated (INT-3).
    Never the stated date in place of a published one."""
    if start is not None and source in START_SOURCES and source != "stated":
        return Proof(**{_FIELDS[source]: start})  # type: ignore[index]
    return Proof(stated_purchase_date=start if start is not None else stated)


INSPECTION_DECISION_WAIT = timedelta(minutes=10)
"""WAR-4: how long work, a quote and an invoice after the engineer's inspection wait for
intake's warranty decision on it. Intake decides within seconds; past this (intake down,
or the decision applied by a version that did not keep its cause) they go ahead on the
warranty known, as they did before the inspection."""

_FIELDS = {
    "invoice": "invoice_date",
    "warranty_card": "warranty_card_date",
    "other_proof": "other_proof_date",
    "serial_lookup": "serial_lookup_date",
    "stated": "stated_purchase_date",
}
_START_RULES = {"invoice": "WAR-5", "stated": "INT-3"}


def start_of(proof: Proof) -> tuple[date | None, StartSource | None]:
    """WAR-5: the clock runs from the invoice date; other proof stands in for it (WAR-3);
    without proof the date is looked up from the serial number (WAR-3); with none of them
    the purchase date the customer stated (INT-3) dates it."""
    for source in START_SOURCES:
        value = getattr(proof, _FIELDS[source])
        if value is not None:
            a_date(value, source)
            return value, source
    return None, None


def _start(proof: Proof) -> tuple[date | None, StartSource | None, list[str]]:
    start, source = start_of(proof)
    if source is None:
        return None, None, ["WAR-3"]
    return start, source, [_START_RULES.get(source, "WAR-3")]


def _exclusions(pack: PolicyPack, proof: Proof, condition: Condition) -> list[Exclusion]:
    # WAR-4: every reason the repair is chargeable instead.
    found: list[Exclusion] = []
    if condition.misuse:
        found.append("misuse")
    if not condition.authorised_installer or condition.unauthorised_repair:
        found.append("unauthorised_party")
    if (
        proof.invoice_date is None
        and proof.warranty_card_date is None
        and proof.other_proof_date is None
        and proof.serial_lookup_date is None
        and proof.stated_purchase_date is None
    ):
        found.append("no_proof")
    if not proof.card_matches_product:
        found.append("card_mismatch")
    if proof.documents_altered:
        found.append("altered_documents")
    if condition.natural_disaster:
        found.append("natural_disaster")
    volts = condition.supply_voltage_v
    spec = pack.warranty
    if volts is not None and not spec.min_supply_voltage_v <= volts <= spec.max_supply_voltage_v:
        found.append("supply_voltage")
    if not condition.wiring_to_code:
        found.append("wiring_not_to_code")
    return found


@rule("WAR-1", "WAR-2", "WAR-3", "WAR-4", "WAR-5")
def assess_warranty(
    pack: PolicyPack,
    *,
    product: str,
    on: date,
    proof: Proof,
    condition: Condition | None = None,
    parts: Sequence[str] = (),
    days_in_repair: int = 0,
    days_waiting_for_parts: int = 0,
) -> WarrantyDecision:
    """Decide what is free on ``on`` for a unit of ``product``.

    WAR-1: terms per product and per part; a part under warranty is free even when the
    unit is not. WAR-2: the visit is free only inside the free on-site period; an
    in-warranty unit outside it is offered a paid visit or a free depot repair. WAR-3:
    the invoice, the warranty card or other proof dates the purchase, else the serial
    number, else the date the customer stated (INT-3; docs/lifecycle.md). WAR-4: any
    exclusion makes the whole repair chargeable. WAR-5: the warranty runs from the
    purchase date, extended by the days spent in repair and waiting for
    parts. A term of N months from 10 March ends on the day before 10 March N months on.
    """
    a_date(on, "on")
    if days_in_repair < 0 or days_waiting_for_parts < 0:
        raise ValueError("days in repair and waiting for parts must not be negative")
    condition = condition or Condition()
    terms = pack.product_warranty(product)
    start, source, rule_ids = _start(proof)
    rule_ids = ["WAR-1", *rule_ids]
    excluded = _exclusions(pack, proof, condition)
    paused = days_in_repair + days_waiting_for_parts
    if paused:
        rule_ids.append("WAR-5")

    def ends(months: int) -> date | None:
        if start is None:
            return None
        return add_months(start, months) + timedelta(days=paused) - timedelta(days=1)

    def within(last_day: date | None) -> bool:
        return last_day is not None and start is not None and start <= on <= last_day

    unit_ends = ends(terms.unit_months)
    on_site_ends = ends(terms.on_site_months)
    unit_live = within(unit_ends)
    if start is not None and not unit_live and "expired" not in excluded and on >= start:
        excluded.append("expired")
    blocking = [item for item in excluded if item != "expired"]
    if blocking:
        rule_ids.append("WAR-4")
    unit_in_warranty = unit_live and not blocking
    free_visit = unit_in_warranty and within(on_site_ends)

    covers = []
    for code in parts:
        months = terms.parts_months.get(code, terms.unit_months)
        last_day = ends(months)
        covers.append(
            PartCover(
                code=code,
                months=months,
                ends_on=last_day,
                covered=within(last_day) and not blocking,
            )
        )

    options: tuple[str, ...] = ()
    if unit_in_warranty and not free_visit:
        rule_ids.append("WAR-2")
        options = ("paid_visit", "free_depot_repair")
    if blocking:
        reason = "chargeable repair: " + ", ".join(blocking)
    elif start is None:
        reason = "no date of purchase"
    elif free_visit:
        reason = f"in warranty until {unit_ends}"
    elif unit_in_warranty:
        reason = f"in warranty until {unit_ends}; free on-site period ended {on_site_ends}"
    else:
        reason = f"warranty ended {unit_ends}"
        if any(cover.covered for cover in covers):
            reason += "; some parts still covered, the visit is charged"
    return WarrantyDecision(
        **stamp(pack, rule_ids),
        product=product,
        decided_on=on,
        start_date=start,
        start_source=source,
        days_paused=paused,
        unit_ends_on=unit_ends,
        free_on_site_ends_on=on_site_ends,
        unit_in_warranty=unit_in_warranty,
        free_visit=free_visit,
        parts=tuple(covers),
        exclusions=tuple(excluded),
        options=options,
        reason=reason,
    )


class RepairQualityDecision(Decision):
    """WAR-10: whether a repeat failure after a repair is repaired free."""

    free: bool
    reason: str


@rule("WAR-10")
def repeat_failure(
    pack: PolicyPack,
    *,
    repaired_on: date,
    failed_on: date,
    repair_was_out_of_warranty: bool,
    same_key_part: bool,
) -> RepairQualityDecision:
    """WAR-10: a repair must work for 30 days; the same key-part fault again within
    3 months of an out-of-warranty repair is repaired or replaced free."""
    a_date(repaired_on, "repaired_on")
    a_date(failed_on, "failed_on")
    if failed_on < repaired_on:
        raise ValueError("failed_on is before repaired_on")
    spec = pack.warranty
    if failed_on <= repaired_on + timedelta(days=spec.repair_works_days):
        free, reason = True, f"failed within {spec.repair_works_days} days of the repair"
    elif (
        repair_was_out_of_warranty
        and same_key_part
        and failed_on <= add_months(repaired_on, spec.repeat_fault_free_months)
    ):
        free = True
        reason = (
            f"same key-part fault within {spec.repeat_fault_free_months} months "
            "of an out-of-warranty repair"
        )
    else:
        free, reason = False, "not a repeat failure covered by the repair guarantee"
    return RepairQualityDecision(**stamp(pack, ["WAR-10"]), free=free, reason=reason)


class ExtensionRewardDecision(Decision):
    """WAR-11: the reward for a constructive survey answer."""

    rewarded: bool
    options: tuple[Literal["free_repair", "warranty_extension"], ...]
    extended_ends_on: date | None
    reason: str


@rule("WAR-11")
def extension_reward(
    pack: PolicyPack, *, answer_constructive: bool, warranty_ends_on: date
) -> ExtensionRewardDecision:
    """WAR-11: a constructive survey answer earns one free repair or 12 more months."""
    a_date(warranty_ends_on, "warranty_ends_on")
    months = pack.warranty.extension_months
    if not answer_constructive:
        return ExtensionRewardDecision(
            **stamp(pack, ["WAR-11"]),
            rewarded=False,
            options=(),
            extended_ends_on=None,
            reason="survey answer not judged constructive",
        )
    return ExtensionRewardDecision(
        **stamp(pack, ["WAR-11"]),
        rewarded=True,
        options=("free_repair", "warranty_extension"),
        extended_ends_on=add_months(warranty_ends_on, months),
        reason=f"constructive answer: one free repair or {months} more months",
    )


__all__ = [
    "START_SOURCES",
    "Condition",
    "ExtensionRewardDecision",
    "PartCover",
    "Proof",
    "RepairQualityDecision",
    "WarrantyDecision",
    "assess_warranty",
    "extension_reward",
    "published",
    "repeat_failure",
    "start_of",
]
