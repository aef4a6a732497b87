"""The year's survey sample (FBK-7), drawn once and fixed; the reports' percentages."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from repairline_feedback import domain
from repairline_feedback.domain import sample as d
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition

WH = load_pack("water-heater")
SW = load_pack("software-support")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 6, 4, 9, 0, tzinfo=SH)  # a Tuesday


def test_fbk_7_the_yearly_sample_is_drawn_once_and_fixed():
    drawn = d.decide_sample(
        WH, year=2030, ticket_ids=["a", "b", "c", "d"], percent=50, drawn=None, now=NOW
    )
    assert (drawn.ticket_id, drawn.survey_year, drawn.population) == ("survey:2030", 2030, 4)
    assert len(drawn.sample) == 2 and set(drawn.sample) <= {"a", "b", "c", "d"}
    assert drawn.decision.rule_ids == ("FBK-7",)
    again = d.decide_sample(
        WH, year=2030, ticket_ids=["d", "c", "b", "a"], percent=50, drawn=None, now=NOW
    )
    assert again.sample == drawn.sample  # reproducible from the same population
    with pytest.raises(IllegalTransition) as refused:
        d.decide_sample(WH, year=2030, ticket_ids=["a"], percent=50, drawn=drawn, now=NOW)
    assert refused.value.state == "drawn"


def test_fbk_7_a_survey_answer_outside_the_years_sample_is_refused_with_the_reason():
    drawn = d.decide_sample(WH, year=2030, ticket_ids=["a", "b"], percent=50, drawn=None, now=NOW)
    [inside] = drawn.sample
    outside = ({"a", "b"} - {inside}).pop()
    d.check_sampled(drawn, ticket_id=inside, year=2030)
    with pytest.raises(IllegalTransition, match="not in the 2030 survey sample") as no:
        d.check_sampled(drawn, ticket_id=outside, year=2030)
    assert no.value.state == "not_in_sample"
    with pytest.raises(IllegalTransition, match="no survey sample") as undrawn:
        d.check_sampled(None, ticket_id=inside, year=2031)
    assert undrawn.value.state == "sample_not_drawn"


@pytest.mark.parametrize(
    ("part", "whole", "text"), [(2, 3, "66.66"), (3, 3, "100.00"), (0, 4, "0.00"), (0, 0, "")]
)
def test_fbk_7_percentages_are_computed_with_integers(part, whole, text):
    assert domain.percent(part, whole) == text
