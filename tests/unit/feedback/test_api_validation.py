"""Feedback's request bodies: what is refused before any command runs, and the one
command each body turns into."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from repairline_feedback.domain.complaint import FileComplaint
from repairline_feedback.domain.followup import RecordCallback
from repairline_feedback.schemas import (
    AnswerIn,
    AttemptIn,
    ComplaintIn,
    KeyCustomerIn,
    SampleIn,
    SurveyIn,
    VerificationIn,
)


def test_fbk_5_a_reached_customer_needs_a_grade_and_a_dissatisfied_one_a_reason():
    with pytest.raises(ValidationError, match="needs a grade"):
        AttemptIn(reached=True)
    with pytest.raises(ValidationError, match="needs its reason"):
        AttemptIn(reached=True, grade="dissatisfied", reason=" ")
    assert AttemptIn(reached=False).command("t1:after_service") == RecordCallback(
        "t1:after_service", reached=False
    )


def test_fbk_6_a_complaint_body_becomes_one_command_and_unknown_fields_are_refused():
    body = {"ticket_id": "t1", "channel": "app", "kind": "attitude", "description": "rude"}
    assert ComplaintIn(**body).command() == FileComplaint("t1", "app", "attitude", "rude")
    with pytest.raises(ValidationError):
        ComplaintIn(**body, amount_paid_fen=-1)
    with pytest.raises(ValidationError):
        ComplaintIn(**body, surprise=True)


def test_fbk_7_a_sample_is_between_1_and_100_percent():
    with pytest.raises(ValidationError):
        SampleIn(year=2030, percent=0)
    assert SampleIn(year=2030).command().percent == 10


@pytest.mark.parametrize(
    "model",
    [AttemptIn, ComplaintIn, AnswerIn, VerificationIn, SurveyIn, SampleIn, KeyCustomerIn],
    ids=lambda m: m.__name__,
)
def test_every_request_body_has_a_valid_example(model):
    examples = model.model_json_schema()["examples"]
    assert examples and all(model(**example) for example in examples)
