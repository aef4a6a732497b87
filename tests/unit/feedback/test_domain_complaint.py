"""A complaint (FBK-6): classified, answered or escalated, verified for billing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from repairline_feedback.domain import complaint as d
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition

WH = load_pack("water-heater")
SW = load_pack("software-support")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 2, 9, 0, tzinfo=SH)  # a Tuesday


def filed(kind="attitude", engineer="e1", paid=None):
    return d.decide_complaint(
        SW,
        complaint_id="c1",
        ticket_id="t1",
        channel="email",
        kind=kind,
        description="x",
        engineer_id=engineer,
        outlet_id="o1",
        amount_paid_fen=paid,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("kind", "engineer", "triggers"),
    [
        ("overcharge", "e1", ("FEE-5",)),
        ("attitude", "e1", ("PEN-1",)),
        ("quality", "e1", ("PEN-1",)),
        ("lateness", "e1", ("PEN-1",)),
        ("attitude", None, ()),
    ],
)
def test_fbk_6_a_complaint_is_classified_and_names_the_rules_a_verification_sets_off(
    kind, engineer, triggers
):
    complaint = filed(kind, engineer)
    assert complaint.triggers == triggers
    assert complaint.answer_by == datetime(2026, 6, 5, 18, 0, tzinfo=SH)  # 3 working days


def test_fbk_6_unanswered_by_the_deadline_is_escalated_once():
    complaint = d.fold_complaint([filed()])
    assert d.decide_breach(SW, complaint, now=NOW + timedelta(days=1)) is None
    breach = d.decide_breach(SW, complaint, now=datetime(2026, 6, 5, 18, 1, tzinfo=SH))
    assert breach is not None and breach.decision.rule_ids == ("FBK-6",)
    escalated = d.fold_complaint([filed(), breach])
    assert escalated.state == "escalated"
    assert d.decide_breach(SW, escalated, now=datetime(2026, 6, 7, tzinfo=SH)) is None
    late = d.decide_answer(escalated, answer="sorry", now=datetime(2026, 6, 8, tzinfo=SH))
    assert late.within_deadline is False


def test_fbk_6_a_verified_complaint_carries_what_billing_needs():
    verified = d.decide_verification(
        d.fold_complaint([filed("overcharge", paid=8000)]),
        verified=True,
        finding="yes",
        now=NOW,
    )
    assert (verified.amount_paid_fen, verified.triggers) == (8000, ("FEE-5",))
    with pytest.raises(IllegalTransition, match="amount"):
        d.decide_verification(
            d.fold_complaint([filed("overcharge")]), verified=True, finding="x", now=NOW
        )
    decided = d.fold_complaint([filed(), verified])
    with pytest.raises(IllegalTransition):
        d.decide_verification(decided, verified=False, finding="x", now=NOW)
