"""Intake triage (INT-3, INT-4, INT-5) and confirmation deadlines (INT-6)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from repairline_rules import load_pack
from repairline_rules.triage import (
    RequestFacts,
    check_dealer_drop_off,
    check_request_facts,
    confirmation_deadlines,
    triage,
)

PC = load_pack("pc-depot")
WATER = load_pack("water-heater")
SHANGHAI = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
COMPLETE = RequestFacts(
    customer_name="Li Lei",
    address="1 Example Road",
    mobile="+86 138 0000 0000",
    product_model="X1",
    serial_number="SN123",
    purchase_date=date(2025, 1, 2),
    fault_description="no power",
    customer_wants="repair",
    urgency="normal",
)


def test_int_3_complete_request_needs_no_verification():
    decision = check_request_facts(PC, facts=COMPLETE, received_at=RECEIVED)
    assert not decision.needs_verification
    assert decision.missing == () and decision.contradictions == ()
    assert decision.rule_ids == ("INT-3",)


def test_int_3_missing_facts_mark_needs_verification_not_rejection():
    facts = COMPLETE.model_copy(update={"mobile": None, "serial_number": " ", "urgency": None})
    decision = check_request_facts(PC, facts=facts, received_at=RECEIVED)
    assert decision.needs_verification
    assert decision.missing == ("phone_or_mobile", "serial_number", "urgency")
    assert decision.verify_with == ("dispatcher", "customer")


def test_int_3_business_customer_needs_organisation_role_and_criticality():
    facts = COMPLETE.model_copy(update={"business_customer": True, "organisation": "ACME"})
    decision = check_request_facts(PC, facts=facts, received_at=RECEIVED)
    assert decision.missing == ("role", "business_critical")


def test_int_3_contradictions_are_listed():
    facts = COMPLETE.model_copy(
        update={
            "purchase_date": date(2026, 11, 24),
            "phone": "call me",
            "card_model": "X2",
            "card_serial_number": "sn123",
            "organisation": "ACME",
        }
    )
    decision = check_request_facts(PC, facts=facts, received_at=RECEIVED)
    assert decision.needs_verification
    assert decision.contradictions == (
        "purchase_date is after the request was received",
        "phone is not a phone number",
        "product_model differs from the warranty card",
        "organisation given for a private customer",
    )


def test_int_3_purchase_date_compared_with_the_local_date():
    # 20:00 UTC on the 23rd is already the 24th in Shanghai.
    facts = COMPLETE.model_copy(update={"purchase_date": date(2026, 11, 24)})
    late_utc = datetime(2026, 11, 23, 20, 0, tzinfo=ZoneInfo("UTC"))
    assert not check_request_facts(PC, facts=facts, received_at=late_utc).contradictions


@pytest.mark.parametrize(
    ("name", "contact", "accepted", "reason"),
    [
        ("Wang Fang", "13800000000", True, "end customer identified"),
        (None, "13800000000", False, "dealer drop-off without the end customer's name"),
        ("Wang Fang", "", False, "dealer drop-off without the end customer's contact"),
        (None, None, False, "dealer drop-off without the end customer's name and contact"),
    ],
)
def test_int_4_dealer_drop_off_needs_the_end_customer(name, contact, accepted, reason):
    decision = check_dealer_drop_off(PC, end_customer_name=name, end_customer_contact=contact)
    assert (decision.accepted, decision.reason) == (accepted, reason)


@pytest.mark.parametrize("fault", ["misreport", "misuse", "software"])
def test_int_5_guidance_first_for_misreport_misuse_and_software(fault):
    decision = triage(PC, fault=fault)
    assert decision.route == "phone_guidance"
    assert decision.visit_chargeable


def test_int_5_customer_who_insists_gets_a_chargeable_visit():
    decision = triage(PC, fault="software", customer_insists_on_visit=True)
    assert decision.route == "visit" and decision.visit_chargeable
    assert "insists" in decision.reason


def test_int_5_hardware_fault_gets_a_visit_or_depot_repair():
    assert triage(PC, fault="hardware").route == "visit"
    assert triage(PC, fault="hardware", prefers_depot=True).route == "depot_repair"
    assert not triage(PC, fault="unknown").visit_chargeable


def test_int_6_visit_time_confirmed_within_30_minutes_and_questions_within_a_day():
    decision = confirmation_deadlines(WATER, received_at=RECEIVED)
    assert decision.confirm_visit_by == datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI)
    assert decision.answer_question_by == datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    assert confirmation_deadlines(PC, received_at=RECEIVED).confirm_visit_by is None
