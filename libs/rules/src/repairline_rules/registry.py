"""Which function implements which rule of the rulebook.

A rule function is marked with ``@rule("FEE-1", "WAR-1")``. The decorator records
the function's dotted name under each rule id and returns the function unchanged,
so ``grep -rn '@rule("FEE-1"'`` finds the code for a rule and ``docs/rules.md`` is
generated from the same records.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

_RULE_ID = re.compile(r"^(INT|WAR|DSP|FEE|PEN|FBK)-[1-9][0-9]?$")

# Titles of the rulebook's rules, by id. Rules about manners and procedure (how to
# greet, what to sign) have no decision function; they are listed so the
# generated map shows them as such rather than forgetting them.
RULE_TITLES: dict[str, str] = {
    "INT-1": "The basic flow",
    "INT-2": "Channels",
    "INT-3": "Required facts",
    "INT-4": "Dealer drop-off",
    "INT-5": "Triage",
    "INT-6": "Confirm the visit quickly",
    "INT-7": "Depot intake",
    "INT-8": "Pickup",
    "WAR-1": "Warranty terms are per product and per part",
    "WAR-2": "Free on-site period",
    "WAR-3": "Proof",
    "WAR-4": "Exclusions",
    "WAR-5": "Warranty clock",
    "WAR-6": "Return within 7 days",
    "WAR-7": "Exchange within 15 days",
    "WAR-8": "Two failed repairs",
    "WAR-9": "90 days without parts",
    "WAR-10": "Repair quality",
    "WAR-11": "Extension reward",
    "DSP-1": "Assignment",
    "DSP-2": "Appointment window",
    "DSP-3": "Response commitment",
    "DSP-4": "Parts",
    "DSP-5": "Skills",
    "DSP-6": "Departure and arrival",
    "DSP-7": "Lateness notice",
    "DSP-8": "Unreachable customer",
    "DSP-9": "Customer not found",
    "DSP-10": "Interruptions",
    "DSP-11": "On-site consent",
    "DSP-12": "Completion",
    "DSP-13": "Key accounts",
    "FEE-1": "Out-of-warranty tariff",
    "FEE-2": "Distance",
    "FEE-3": "Extra wiring",
    "FEE-4": "Quote first",
    "FEE-5": "Overcharging",
    "FEE-6": "Outlet settlement",
    "FEE-7": "Travel allowance",
    "FEE-8": "Contracts",
    "PEN-1": "Complaints",
    "PEN-2": "Forms late",
    "PEN-3": "Visit not recorded",
    "PEN-4": "Remote service not recorded",
    "PEN-5": "Implementation form",
    "PEN-6": "Unreachable staff",
    "PEN-7": "Missed appointment",
    "PEN-8": "Assessment",
    "FBK-1": "After phone guidance",
    "FBK-2": "After a service",
    "FBK-3": "A valid callback",
    "FBK-4": "What is asked",
    "FBK-5": "Outcome",
    "FBK-6": "Complaints",
    "FBK-7": "Reports",
}

# The modules holding rule functions; importing them fills the registry.
RULE_MODULES: tuple[str, ...] = (
    "repairline_rules.calendar",
    "repairline_rules.warranty",
    "repairline_rules.guarantees",
    "repairline_rules.triage",
    "repairline_rules.fees",
    "repairline_rules.dispatch",
    "repairline_rules.penalties",
    "repairline_rules.assessment",
    "repairline_rules.followup",
    "repairline_rules.ledger",
    "repairline_rules.surveys",
)

_REGISTRY: dict[str, list[str]] = {}


def rule(*rule_ids: str) -> Callable[[F], F]:
    """Record that the decorated function implements ``rule_ids``; return it unchanged."""
    if not rule_ids:
        raise ValueError("@rule needs at least one rule id")
    for rule_id in rule_ids:
        if not _RULE_ID.match(rule_id) or rule_id not in RULE_TITLES:
            raise ValueError(f"unknown rule id {rule_id!r}")

    def record(func: F) -> F:
        name = f"{func.__module__}.{func.__qualname__}"
        for rule_id in rule_ids:
            names = _REGISTRY.setdefault(rule_id, [])
            if name not in names:
                names.append(name)
        return func

    return record


def rule_sort_key(rule_id: str) -> tuple[int, int]:
    """Order rule ids as the rulebook does: by area, then by number."""
    area, number = rule_id.split("-")
    return (("INT", "WAR", "DSP", "FEE", "PEN", "FBK").index(area), int(number))


def implementations() -> dict[str, tuple[str, ...]]:
    """Every rule id with the dotted names of the functions that implement it."""
    for module in RULE_MODULES:
        importlib.import_module(module)
    return {
        rule_id: tuple(sorted(_REGISTRY[rule_id]))
        for rule_id in sorted(_REGISTRY, key=rule_sort_key)
    }
