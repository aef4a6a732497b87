"""Dispatch's request models: what they refuse, and the one command each becomes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from repairline_dispatch.domain import roster, visit
from repairline_dispatch.schemas import (
    CompletionIn,
    DelayIn,
    EngineerIn,
    ReasonIn,
    RescheduleIn,
    WindowIn,
)
from repairline_intake.schemas import WindowIn as IntakeWindowIn

START, END = "2026-11-24T14:00:00+08:00", "2026-11-24T15:00:00+08:00"


def test_dsp_2_a_window_without_a_time_zone_is_refused():
    with pytest.raises(ValidationError, match="timezone"):
        WindowIn.model_validate({"window_start": "2026-11-24T14:00:00", "window_end": END})


def test_dsp_1_a_reschedule_needs_the_customers_answer_and_becomes_one_command():
    with pytest.raises(ValidationError, match="customer_consents"):
        RescheduleIn.model_validate({"window_start": START, "window_end": END, "reason": "x"})
    body = {
        "window_start": START,
        "window_end": END,
        "reason": "overran",
        "customer_consents": False,
    }
    cmd = RescheduleIn.model_validate(body).command("t1")
    assert isinstance(cmd, visit.Reschedule)
    assert (cmd.requested_by, cmd.customer_consents) == ("engineer", False)


def test_dsp_7_a_delay_carries_the_agreed_window_only_when_given():
    late = {"expected_arrival": START, "cause": "traffic"}
    assert DelayIn.model_validate(late).command("t1").new_window is None
    moved = DelayIn.model_validate({**late, "new_window": {"start": START, "end": END}})
    assert moved.command("t1").new_window == (
        moved.new_window.start,
        moved.new_window.end,
    )  # type: ignore[union-attr]


def test_one_window_shape_start_end_on_intake_and_dispatch_the_old_names_still_read():
    """Intake's preferred_window and dispatch's bodies share one WindowIn {start, end};
    `window_start`/`window_end` are still accepted on dispatch's input."""
    assert IntakeWindowIn.model_json_schema() == WindowIn.model_json_schema()
    assert set(WindowIn.model_json_schema()["properties"]) == {"start", "end"}
    new = WindowIn.model_validate({"start": START, "end": END}).window
    old = WindowIn.model_validate({"window_start": START, "window_end": END}).window
    assert new == old
    rescheduled = RescheduleIn.model_validate(
        {"start": START, "end": END, "reason": "overran", "customer_consents": True}
    )
    assert rescheduled.command("t1").window == new


def test_dsp_12_a_completion_files_its_repair_record():
    body = {
        "resolution": "replaced",
        "repair_record": {"fault_found": "open", "parts_replaced": ["t"]},
    }
    cmd = CompletionIn.model_validate(body).command("t1")
    assert cmd.repair_record is not None and cmd.repair_record.parts_replaced == ("t",)


def test_a_reassignment_reason_is_trimmed_and_an_empty_one_refused():
    assert (
        ReasonIn.model_validate({"reason": "  called away "}).command("t1").reason == "called away"
    )
    with pytest.raises(ValidationError):
        ReasonIn.model_validate({"reason": ""})


def test_an_engineers_name_stays_out_of_the_roster_record():
    body = {"name": "Zhang Min", "region": "cn-east", "skills": ["tv"], "capacity": 3}
    cmd = EngineerIn.model_validate(body).command("eng-1")
    assert isinstance(cmd, roster.ChangeEngineer) and cmd.name == "Zhang Min"
    assert "name" not in cmd.record and cmd.record["capacity"] == 3
    with pytest.raises(ValidationError):
        EngineerIn.model_validate({**body, "skills": []})
