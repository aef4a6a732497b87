"""The three guarantees (三包): return, exchange, repair (WAR-6..9)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from repairline_rules.decision import Decision, Value, a_date, stamp
from repairline_rules.packs import PolicyPack, require
from repairline_rules.registry import rule

RemedyKind = Literal["return", "exchange", "repair"]


class Remedy(Value):
    """One remedy the customer may choose."""

    kind: RemedyKind
    free: bool = True
    depreciation: bool = False
    note: str = ""


class RemedyDecision(Decision):
    """The remedies open to the customer, strongest first, and why."""

    remedies: tuple[Remedy, ...]
    reason: str

    @property
    def kinds(self) -> tuple[RemedyKind, ...]:
        """The remedy kinds in order, for quick checks."""
        return tuple(remedy.kind for remedy in self.remedies)


@rule("WAR-6", "WAR-7", "WAR-8", "WAR-9")
def three_guarantees_remedy(
    pack: PolicyPack,
    *,
    sold_on: date,
    reported_on: date,
    performance_fault: bool,
    in_warranty: bool,
    failed_repairs: int = 0,
    same_model_available: bool = True,
    submitted_for_repair_on: date | None = None,
    repaired: bool = False,
    waiting_for_maker_parts: bool = False,
) -> RemedyDecision:
    """The remedies the customer may choose under the three guarantees.

    WAR-6: a performance fault within 7 days of sale: return (full invoice price),
    exchange or repair. WAR-7: within 15 days: exchange (same model and spec) or
    repair. WAR-8: in warranty and still failing after two repairs: exchange, or
    return; a return where a same model exists carries a depreciation charge. WAR-9:
    in warranty, not repaired 90 days after submission for want of the maker's
    parts: free exchange. Days are counted from the day of sale: day 7 is within 7 days.
    """
    spec = require(pack.guarantees, pack, "guarantees", "WAR-6..9")
    a_date(sold_on, "sold_on")
    a_date(reported_on, "reported_on")
    if reported_on < sold_on:
        raise ValueError("reported_on is before sold_on")
    if failed_repairs < 0:
        raise ValueError("failed_repairs must not be negative")
    age = (reported_on - sold_on).days
    rule_ids: list[str] = []
    remedies: list[Remedy] = []
    reasons: list[str] = []

    def offer(kind: RemedyKind, **fields: object) -> None:
        if all(existing.kind != kind for existing in remedies):
            remedies.append(Remedy(kind=kind, **fields))  # type: ignore[arg-type]

    if performance_fault and age <= spec.return_days:
        rule_ids.append("WAR-6")
        reasons.append(f"performance fault {age} days after sale")
        offer("return", note="full invoice price")
        offer("exchange", note="same model and specification")
        offer("repair")
    elif performance_fault and age <= spec.exchange_days:
        rule_ids.append("WAR-7")
        reasons.append(f"performance fault {age} days after sale")
        offer("exchange", note="same model and specification")
        offer("repair")
    if in_warranty and failed_repairs >= spec.failed_repairs_for_exchange:
        rule_ids.append("WAR-8")
        reasons.append(f"still failing after {failed_repairs} repairs")
        if same_model_available:
            offer("exchange", note="same model and specification")
            offer("return", depreciation=True, note="depreciation charged")
        else:
            offer("return", note="no same model; full price")
            offer("exchange", note="another model, if the customer accepts one")
    if (
        in_warranty
        and submitted_for_repair_on is not None
        and not repaired
        and waiting_for_maker_parts
    ):
        a_date(submitted_for_repair_on, "submitted_for_repair_on")
        waited = (reported_on - submitted_for_repair_on).days
        if waited >= spec.parts_wait_days:
            rule_ids.append("WAR-9")
            reasons.append(f"not repaired {waited} days after submission, no parts from the maker")
            offer("exchange", note="free exchange")
    if not remedies:
        if in_warranty:
            offer("repair")
            reasons.append("in warranty: free repair")
        else:
            offer("repair", free=False)
            reasons.append("out of warranty and no three-guarantees case: chargeable repair")
    return RemedyDecision(
        **stamp(pack, rule_ids or ["WAR-6", "WAR-7", "WAR-8", "WAR-9"]),
        remedies=tuple(remedies),
        reason="; ".join(reasons),
    )
