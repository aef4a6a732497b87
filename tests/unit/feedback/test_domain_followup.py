"""A ticket's follow-up: callbacks (FBK-1..5) and the yearly survey's WAR-11 reward."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from repairline_contracts.feedback import (
    CallbackAnswers,
    CallbackAttempted,
    CallbackCompleted,
    CallbackScheduled,
    RevisitRequested,
)
from repairline_feedback.domain import followup as d
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition

WH = load_pack("water-heater")
SW = load_pack("software-support")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 2, 9, 0, tzinfo=SH)  # a Tuesday


def due_callback(attempt: int = 1) -> d.Callback:
    return d.Callback(
        "t1:after_service", "after_service", due_attempt=attempt, attempts=attempt - 1
    )


def test_fbk_1_phone_guidance_is_called_back_2_hours_later():
    scheduled = d.schedule_after_guidance(WH, ticket_id="t1", guided_at=NOW)
    assert scheduled.due_at == NOW + timedelta(hours=2)
    assert (scheduled.reason, scheduled.decision.rule_ids) == ("after_guidance", ("FBK-1",))


def test_fbk_2_software_support_calls_back_the_next_working_day_at_10():
    friday = datetime(2026, 6, 5, 16, 0, tzinfo=SH)
    scheduled = d.schedule_after_service(SW, ticket_id="t1", completed_at=friday)
    assert scheduled.due_at == datetime(2026, 6, 8, 10, 0, tzinfo=SH)


def test_fbk_3_an_unreached_customer_is_retried_until_the_attempts_run_out():
    first = d.decide_unreached(WH, due_callback(1), ticket_id="t1", now=NOW)
    assert (first.attempt, first.attempts_exhausted) == (1, False)
    assert first.retry_at == datetime(2026, 6, 2, 11, 0, tzinfo=SH)
    last = d.decide_unreached(WH, due_callback(5), ticket_id="t1", now=NOW)
    assert (last.attempts_exhausted, last.retry_at) == (True, None)
    with pytest.raises(IllegalTransition) as not_due:
        d.decide_unreached(WH, d.Callback("c", attempts=1, due_attempt=1), ticket_id="t1", now=NOW)
    assert not_due.value.state == "retry_pending"


def test_fbk_3_the_callback_state_folds_from_its_events():
    events = [
        d.schedule_after_service(WH, ticket_id="t1", completed_at=NOW - timedelta(days=1)),
        d.fire(NOW, ticket_id="t1", callback_id="t1:after_service", now=NOW),
    ]
    assert d.callbacks_of(events)["t1:after_service"].state == "due"
    events.append(d.decide_unreached(WH, due_callback(), ticket_id="t1", now=NOW))
    assert d.callbacks_of(events)["t1:after_service"].state == "retry_pending"
    events.append(d.fire(NOW, ticket_id="t1", callback_id="t1:after_service", now=NOW, attempt=2))
    assert d.callbacks_of(events)["t1:after_service"].state == "due"


def test_fbk_4_fbk_5_a_satisfied_callback_is_valid_and_sets_nothing_else_going():
    [done] = d.decide_outcome(
        WH,
        due_callback(),
        d.Outcome(CallbackAnswers(on_time=True), "satisfied", None),
        ticket_id="t1",
        engineer_id="e1",
        outlet_id="o1",
        case_id="k1",
        now=NOW,
    )
    assert isinstance(done, CallbackCompleted)
    assert done.answers.on_time is True and done.decision.rule_ids == ("FBK-3", "FBK-4", "FBK-5")


def test_fbk_5_dissatisfied_sends_someone_on_site_and_schedules_two_follow_ups():
    events = d.decide_outcome(
        WH,
        due_callback(),
        d.Outcome(CallbackAnswers(), "dissatisfied", "still leaking"),
        ticket_id="t1",
        engineer_id="e1",
        outlet_id="o1",
        case_id="k1",
        now=NOW,
    )
    done, revisit, week, month = events
    assert isinstance(done, CallbackCompleted) and isinstance(revisit, RevisitRequested)
    assert (revisit.case_id, revisit.reason, revisit.engineer_id) == ("k1", "still leaking", "e1")
    assert isinstance(week, CallbackScheduled) and isinstance(month, CallbackScheduled)
    assert week.due_at.date() == date(2026, 6, 9) and month.due_at.date() == date(2026, 7, 2)
    with pytest.raises(IllegalTransition, match="reason"):
        d.decide_outcome(
            WH,
            due_callback(),
            d.Outcome(CallbackAnswers(), "dissatisfied", " "),
            ticket_id="t1",
            engineer_id=None,
            outlet_id=None,
            case_id="k",
            now=NOW,
        )


def test_fbk_3_a_not_reached_attempt_event_keeps_its_retry():
    attempted = d.decide_unreached(WH, due_callback(), ticket_id="t1", now=NOW)
    assert isinstance(attempted, CallbackAttempted) and attempted.reached is False


def test_war_11_a_constructive_survey_answer_earns_12_more_months():
    events = d.decide_survey(
        WH,
        ticket_id="t1",
        year=2030,
        grade="satisfied",
        answer="add a timer",
        constructive=True,
        reward="warranty_extension",
        product_line="instant_water_heater",
        purchase_date=date(2026, 1, 8),
        serial_no="SN1",
        now=NOW,
    )
    answered, reward = events
    assert answered.constructive is True
    assert reward.extended_ends_on == date(2028, 1, 7)  # warranty to 2027-01-07, + 12 months
    assert reward.decision.rule_ids == ("WAR-11",)
    plain = d.decide_survey(
        WH,
        ticket_id="t1",
        year=2030,
        grade="average",
        answer="ok",
        constructive=False,
        reward="free_repair",
        product_line=None,
        purchase_date=None,
        serial_no=None,
        now=NOW,
    )
    assert len(plain) == 1


def test_fbk_2_a_completed_repair_is_called_back_on_the_next_morning_list():
    completed = datetime(2026, 6, 3, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
    scheduled = d.schedule_after_service(WH, ticket_id="t1", completed_at=completed)
    local = scheduled.due_at.astimezone(WH.zone)
    assert local.date() == date(2026, 6, 4)
    assert scheduled.due_at > completed
    assert scheduled.decision.rule_ids == ("FBK-2",)
    assert scheduled.callback_id == "t1:after_service"


def _extension(**dated) -> date | None:
    events = d.decide_survey(
        WH,
        ticket_id="t1",
        year=2030,
        grade="satisfied",
        answer="add a timer",
        constructive=True,
        reward="warranty_extension",
        product_line="instant_water_heater",
        purchase_date=date(2026, 1, 8),  # stated: in warranty to 2027-01-07
        serial_no="SN1",
        now=NOW,
        **dated,
    )
    return events[1].extended_ends_on


def test_war_11_war_5_the_extension_counts_from_the_warranty_start_intake_published():
    # the invoice (2023-12-30) ended the warranty on 2024-12-29: 12 months from today
    by_invoice = _extension(warranty_start=date(2023, 12, 30), warranty_source="invoice")
    assert by_invoice == date(2027, 6, 2)
    # WAR-5: the days paused intake published move the end later (2026-05-29 + 30 days)
    paused = _extension(
        warranty_start=date(2025, 5, 30), warranty_source="serial_lookup", days_paused=30
    )
    assert paused == date(2027, 6, 28)
    # INT-3: only while intake published no start does the stated date count
    assert _extension() == date(2028, 1, 7)
