"""Intake triage: required facts (INT-3), dealer drop-off (INT-4), routing (INT-5)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from repairline_rules.decision import Decision, Value, a_date, aware, stamp
from repairline_rules.packs import PolicyPack
from repairline_rules.registry import rule

_PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")


class RequestFacts(Value):
    """The facts of a repair request as recorded; any may be missing (INT-3)."""

    customer_name: str | None = None
    address: str | None = None
    phone: str | None = None
    mobile: str | None = None
    product_model: str | None = None
    serial_number: str | None = None
    purchase_date: date | None = None  # stated by the customer; proof dates the warranty
    fault_description: str | None = None
    customer_wants: str | None = None
    urgency: str | None = None
    business_customer: bool = False
    organisation: str | None = None
    role: str | None = None
    business_critical: bool | None = None
    card_model: str | None = None
    card_serial_number: str | None = None


class VerificationDecision(Decision):
    """INT-3: what is missing or contradictory; never a rejection."""

    needs_verification: bool
    missing: tuple[str, ...]
    contradictions: tuple[str, ...]
    verify_with: tuple[str, ...]


_REQUIRED = (
    "customer_name",
    "address",
    "phone_or_mobile",
    "product_model",
    "serial_number",
    "purchase_date",
    "fault_description",
    "customer_wants",
    "urgency",
)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _differ(on_card: str | None, given: str | None) -> bool:
    if on_card is None or given is None or _blank(on_card) or _blank(given):
        return False
    return on_card.strip().casefold() != given.strip().casefold()


@rule("INT-3")
def check_request_facts(
    pack: PolicyPack, *, facts: RequestFacts, received_at: datetime
) -> VerificationDecision:
    """INT-3: list the missing and contradictory facts of a request.

    Missing or contradictory facts do not reject the request: it is marked *needs
    verification*, to be verified with the dispatcher first, then the customer.
    """
    received_on = aware(received_at, "received_at").astimezone(pack.zone).date()
    missing = []
    for name in _REQUIRED:
        if name == "phone_or_mobile":
            if _blank(facts.phone) and _blank(facts.mobile):
                missing.append(name)
        elif _blank(getattr(facts, name)):
            missing.append(name)
    if facts.business_customer:
        missing += [name for name in ("organisation", "role") if _blank(getattr(facts, name))]
        if facts.business_critical is None:
            missing.append("business_critical")
    contradictions = []
    if facts.purchase_date is not None:
        a_date(facts.purchase_date, "purchase_date")
        if facts.purchase_date > received_on:
            contradictions.append("purchase_date is after the request was received")
    for name in ("phone", "mobile"):
        value = getattr(facts, name)
        if not _blank(value) and not _PHONE.match(value.strip()):
            contradictions.append(f"{name} is not a phone number")
    if _differ(facts.card_model, facts.product_model):
        contradictions.append("product_model differs from the warranty card")
    if _differ(facts.card_serial_number, facts.serial_number):
        contradictions.append("serial_number differs from the warranty card")
    if not facts.business_customer and not _blank(facts.organisation):
        contradictions.append("organisation given for a private customer")
    needs = bool(missing or contradictions)
    return VerificationDecision(
        **stamp(pack, ["INT-3"]),
        needs_verification=needs,
        missing=tuple(missing),
        contradictions=tuple(contradictions),
        verify_with=("dispatcher", "customer") if needs else (),
    )


class DropOffDecision(Decision):
    """INT-4: whether a dealer's drop-off is accepted."""

    accepted: bool
    reason: str


@rule("INT-4")
def check_dealer_drop_off(
    pack: PolicyPack, *, end_customer_name: str | None, end_customer_contact: str | None
) -> DropOffDecision:
    """INT-4: a dealer bringing a machine must give the end customer's name and contact;
    otherwise the request is refused with that reason."""
    lacking = [
        label
        for label, value in (("name", end_customer_name), ("contact", end_customer_contact))
        if _blank(value)
    ]
    if lacking:
        reason = f"dealer drop-off without the end customer's {' and '.join(lacking)}"
        return DropOffDecision(**stamp(pack, ["INT-4"]), accepted=False, reason=reason)
    return DropOffDecision(
        **stamp(pack, ["INT-4"]), accepted=True, reason="end customer identified"
    )


FaultKind = Literal["misreport", "misuse", "software", "hardware", "unknown"]
Route = Literal["phone_guidance", "visit", "depot_repair"]


class TriageDecision(Decision):
    """INT-5: how a request is handled first."""

    route: Route
    visit_chargeable: bool
    reason: str


@rule("INT-5")
def triage(
    pack: PolicyPack,
    *,
    fault: FaultKind,
    customer_insists_on_visit: bool = False,
    prefers_depot: bool = False,
) -> TriageDecision:
    """INT-5: misreport or misuse goes to phone guidance first (a visit for it would not
    be free); a software problem is offered guidance because a software visit is paid;
    anything else gets a visit or a depot repair. A customer who refuses guidance and
    insists gets a visit, chargeable for misreport, misuse and software faults."""
    rule_ids = ["INT-5"]
    other = "depot_repair" if prefers_depot else "visit"
    if fault in ("misreport", "misuse", "software"):
        why = {
            "misreport": "possible misreport: guidance first, a visit would not be free",
            "misuse": "misuse: guidance first, a visit would not be free",
            "software": "software problem: guidance suggested, a software visit is paid",
        }[fault]
        if customer_insists_on_visit:
            return TriageDecision(
                **stamp(pack, rule_ids),
                route=other,
                visit_chargeable=True,
                reason=f"{why}; the customer insists on a visit",
            )
        return TriageDecision(
            **stamp(pack, rule_ids), route="phone_guidance", visit_chargeable=True, reason=why
        )
    return TriageDecision(
        **stamp(pack, rule_ids),
        route=other,
        visit_chargeable=False,
        reason="hardware fault" if fault == "hardware" else "fault not classified: inspect it",
    )


class ConfirmationDecision(Decision):
    """INT-6: by when the visit time is confirmed and an open question answered."""

    confirm_visit_by: datetime | None
    answer_question_by: datetime
    reason: str


@rule("INT-6")
def confirmation_deadlines(pack: PolicyPack, *, received_at: datetime) -> ConfirmationDecision:
    """INT-6: the visit time is confirmed within the pack's minutes (30, water-heater);
    a question the hotline cannot answer at once is answered within one day."""
    start = aware(received_at, "received_at").astimezone(pack.zone)
    minutes = pack.dispatch.confirm_visit_minutes
    confirm_by = None if minutes is None else _plus(start, timedelta(minutes=minutes), pack)
    return ConfirmationDecision(
        **stamp(pack, ["INT-6"]),
        confirm_visit_by=confirm_by,
        answer_question_by=_plus(start, timedelta(days=1), pack),
        reason=(f"confirm within {minutes} minutes; " if minutes else "") + "answer within a day",
    )


def _plus(moment: datetime, delta: timedelta, pack: PolicyPack) -> datetime:
    return (moment.astimezone(UTC) + delta).astimezone(pack.zone)
