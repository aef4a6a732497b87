"""Follow-up callbacks and complaint answers (FBK-1..3, FBK-5, FBK-6)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from repairline_rules import load_pack
from repairline_rules.followup import (
    after_dissatisfied_callback,
    callback_after_guidance,
    callback_after_service,
    callback_attempt,
    complaint_answer_due,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SOFTWARE = load_pack("software-support")
WATER = load_pack("water-heater")
HOME = load_pack("home-appliance")
OFFICE = load_pack("office-equipment")


def sh(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def test_fbk_1_callback_two_hours_after_guidance():
    decision = callback_after_guidance(HOME, guided_at=sh(2026, 11, 23, 16, 30))
    assert decision.due_at == sh(2026, 11, 23, 18, 30)
    assert decision.kind == "guidance_check"
    assert decision.rule_ids == ("FBK-1",)
    assert (decision.pack_id, decision.pack_version) == ("home-appliance", HOME.version)


def test_fbk_1_two_hours_are_elapsed_time_across_midnight_and_in_the_pack_zone():
    decision = callback_after_guidance(HOME, guided_at=datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    assert decision.due_at == sh(2026, 11, 24, 1, 0)
    assert decision.due_at.tzinfo == SHANGHAI


def test_fbk_1_rejects_naive_datetimes():
    with pytest.raises(ValueError, match="timezone-aware"):
        callback_after_guidance(HOME, guided_at=datetime(2026, 11, 23, 15, 0))  # noqa: DTZ001


def test_fbk_2_software_support_calls_back_the_next_day():
    # Monday evening -> Tuesday 10:00.
    decision = callback_after_service(SOFTWARE, completed_at=sh(2026, 11, 23, 19, 0))
    assert decision.due_at == sh(2026, 11, 24, 10, 0)
    assert decision.rule_ids == ("FBK-2",)


def test_fbk_2_next_day_skips_the_weekend_and_holidays():
    # Friday -> Monday; the day before National Day -> the first working day after it.
    assert callback_after_service(SOFTWARE, completed_at=sh(2026, 11, 27, 11, 0)).due_at == sh(
        2026, 11, 30, 10, 0
    )
    assert callback_after_service(SOFTWARE, completed_at=sh(2026, 9, 30, 15, 0)).due_at == sh(
        2026, 10, 8, 10, 0
    )


def test_fbk_2_make_up_working_day_counts():
    # Friday 9 Oct 2026 -> Saturday 10 Oct 2026 is a make-up working day.
    assert callback_after_service(SOFTWARE, completed_at=sh(2026, 10, 9, 15, 0)).due_at == sh(
        2026, 10, 10, 10, 0
    )


def test_fbk_2_water_heater_next_morning_callback_list():
    decision = callback_after_service(WATER, completed_at=sh(2026, 11, 28, 16, 0))  # Saturday
    assert decision.due_at == sh(2026, 11, 29, 8, 30)  # outlets work on Sunday
    assert decision.callback_list == "morning callback list"
    assert "100 %" in decision.reason


def test_fbk_2_service_completed_just_after_midnight_utc_uses_the_local_date():
    # 23:30 UTC on the 23rd is 07:30 on the 24th in Shanghai: next day is the 25th.
    completed = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert callback_after_service(WATER, completed_at=completed).due_at == sh(2026, 11, 25, 8, 30)


@pytest.mark.parametrize("pack_id", ["home-appliance", "pc-depot", "office-equipment"])
def test_fbk_2_other_packs_have_a_configured_next_working_day_callback(pack_id):
    pack = load_pack(pack_id)
    completed = sh(2026, 11, 23, 12, 0)
    decision = callback_after_service(pack, completed_at=completed)
    assert decision.due_at > completed
    assert decision.due_at.date() == completed.date() + timedelta(days=1)


def test_fbk_3_reached_customer_makes_a_valid_callback():
    decision = callback_attempt(WATER, attempted_at=sh(2026, 11, 23, 9, 0), reached=True)
    assert decision.valid and decision.retry_at is None


def test_fbk_3_unreached_customer_is_retried_in_working_hours():
    decision = callback_attempt(SOFTWARE, attempted_at=sh(2026, 11, 23, 17, 0), reached=False)
    assert not decision.valid
    assert decision.retry_at == sh(2026, 11, 24, 10, 0)  # 1 h on Monday, 1 h on Tuesday


def test_fbk_3_stops_after_the_last_attempt():
    decision = callback_attempt(
        SOFTWARE, attempted_at=sh(2026, 11, 23, 9, 0), reached=False, attempt=3
    )
    assert decision.attempts_exhausted and decision.retry_at is None and not decision.valid
    with pytest.raises(ValueError):
        callback_attempt(SOFTWARE, attempted_at=sh(2026, 11, 23, 9, 0), reached=False, attempt=0)


def test_fbk_5_dissatisfied_callback_sends_someone_at_once_and_two_follow_ups():
    called = sh(2026, 1, 31, 10, 0)
    decision = after_dissatisfied_callback(WATER, called_at=called)
    assert decision.visit_due_at == called
    assert decision.notify == ("engineer", "outlet")
    week, month = decision.callbacks
    assert week.due_at == sh(2026, 2, 7, 10, 0)
    assert month.due_at == sh(2026, 2, 28, 10, 0)  # 31 Jan + 1 month
    assert {c.kind for c in decision.callbacks} == {"dissatisfied_followup"}


def test_fbk_6_complaint_answered_within_3_working_days():
    decision = complaint_answer_due(OFFICE, received_at=sh(2026, 11, 23, 10, 0))  # Monday
    assert decision.answer_by == sh(2026, 11, 26, 18, 0)  # Thursday, close of business
    friday = complaint_answer_due(OFFICE, received_at=sh(2026, 11, 27, 17, 0))
    assert friday.answer_by == sh(2026, 12, 2, 18, 0)  # Mon, Tue, Wed


def test_fbk_6_complaint_triggers_fee_5_or_pen_1():
    received = sh(2026, 11, 23, 10, 0)
    assert complaint_answer_due(OFFICE, received_at=received, kind="overcharge").triggers == (
        "FEE-5",
    )
    assert complaint_answer_due(OFFICE, received_at=received, kind="attitude").triggers == (
        "PEN-1",
    )
    assert complaint_answer_due(OFFICE, received_at=received).triggers == ()
