"""What the ticket view shows of dispatch's deadlines (DSP-3): every deadline that was
set, including software-support's return-to-factory repair, and the latest one wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from repairline_contracts.base import Decision
from repairline_contracts.dispatch import EngineerAssigned, SlaDeadlinesRecomputed
from repairline_intake.projections import STATUS, facts, summary

AT = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
DSP_3 = Decision(pack_id="software-support", pack_version="1", rule_ids=("DSP-1", "DSP-3"))


def assigned(**dues) -> EngineerAssigned:
    return EngineerAssigned(
        ticket_id="t1",
        engineer_id="eng-1",
        region="cn-east",
        skill="erp_suite",
        open_jobs_before=0,
        reason="DSP-1",
        assigned_at=AT,
        decision=DSP_3,
        **dues,
    )


def test_dsp_3_a_return_to_factory_repair_deadline_is_on_the_ticket_view():
    repair_by = AT + timedelta(days=7)
    shown = facts(assigned(repair_by=repair_by))["deadlines"]
    assert shown["repair_by"] == repair_by.isoformat()
    assert (shown["visit_by"], shown["fix_by"]) == (None, None)
    assert "DSP-3" in shown["rule_ids"]
    timeline = summary(assigned(repair_by=repair_by))
    assert datetime.fromisoformat(timeline["repair_by"]) == repair_by
    assert facts(assigned()) == {}


def test_dsp_3_recomputed_deadlines_replace_the_ones_shown():
    later = AT + timedelta(days=9)
    moved = SlaDeadlinesRecomputed(
        ticket_id="t1",
        version=2,
        repair_by=later,
        pauses=(),
        resumed_at=AT + timedelta(days=2),
        reason="DSP-3: the clock was held",
        decision=DSP_3,
    )
    assert SlaDeadlinesRecomputed.event_type in STATUS
    assert facts(moved)["deadlines"]["repair_by"] == later.isoformat()
