"""PEN-8: an engineer's month, scored from the facts billing holds."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from repairline_billing import domain as d
from repairline_rules import load_pack

WH = load_pack("water-heater")
SW = load_pack("software-support")
OE = load_pack("office-equipment")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 6, 3, 10, 0, tzinfo=SH)


# -- PEN-8 assessment ----------------------------------------------------------------------


def _fact(kind: str, event_id: str) -> d.AssessmentFact:
    return d.AssessmentFact(
        kind, d.Evidence(event_id=event_id, event_type="repairline.x.Y", ticket_id="t1")
    )


def test_pen_8_an_engineers_month_is_scored_from_the_facts_each_counted_once():
    facts_ = [
        _fact("attitude_complaints", "e1"),
        _fact("attitude_complaints", "e1"),  # a redelivered fact counts once
        _fact("missed_appointments", "e2"),
        _fact("repeat_failures", "e3"),
        _fact("satisfied", "e4"),
        _fact("satisfied", "e5"),
        _fact("dissatisfied", "e6"),
    ]
    a = d.decide_assessment(
        WH, engineer_id="eng-1", period="2030-06", facts=facts_, assessed=False, now=NOW
    )
    assert (a.attitude, a.quality, a.efficiency, a.satisfaction) == (75, 75, 75, 67)
    assert (a.total, a.band) == (73, "needs_improvement")
    assert a.counts.attitude_complaints == 1 and a.counts.satisfied == 2
    assert sorted(e.event_id for e in a.evidence) == ["e1", "e2", "e3", "e4", "e5", "e6"]
    assert a.decision.rule_ids == ("PEN-8",) and a.decision.pack_id == "water-heater"
    assert a.ticket_id == "engineer:eng-1"
    with pytest.raises(d.IllegalTransition, match="already assessed"):
        d.decide_assessment(
            WH, engineer_id="eng-1", period="2030-06", facts=[], assessed=True, now=NOW
        )


def test_pen_8_an_engineer_with_nothing_against_them_is_excellent():
    a = d.decide_assessment(
        WH, engineer_id="e", period="2030-06", facts=[], assessed=False, now=NOW
    )
    assert (a.total, a.band, a.evidence) == (100, "excellent", ())
