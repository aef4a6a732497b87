"""The visit aggregate: DSP-1 assignment and the transitions a visit refuses, named by state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from repairline_contracts.dispatch import AssignmentWaiting, EngineerAssigned
from repairline_dispatch import domain
from repairline_dispatch.domain import Engineer, IllegalTransition, Visit, VisitState

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def eng(engineer_id, *, region="cn-east", skills=("heater",), open_jobs=0, active=True):
    return Engineer(engineer_id, region, frozenset(skills), open_jobs, active)


def test_dsp_1_the_engineer_with_fewest_open_jobs_of_the_region_and_skill_is_chosen():
    engineers = [
        eng("a", open_jobs=3),
        eng("b", open_jobs=1),
        eng("c", open_jobs=0, region="cn-west"),
        eng("d", open_jobs=0, skills=("faucet",)),
        eng("e", open_jobs=0, active=False),
    ]
    chosen = domain.choose_engineer(engineers, region="cn-east", skill="heater")
    assert chosen is not None and chosen.engineer_id == "b"


def test_dsp_1_ties_go_to_the_lowest_engineer_id_so_replays_agree():
    engineers = [eng("z", open_jobs=1), eng("m", open_jobs=1), eng("q", open_jobs=2)]
    assert domain.choose_engineer(engineers, region="cn-east", skill="heater").engineer_id == "m"


def test_dsp_1_assignment_records_why_the_engineer_was_chosen():
    event = domain.decide_assignment(
        Visit("t1"), [eng("b", open_jobs=2)], region="cn-east", skill="heater", now=NOW
    )
    assert isinstance(event, EngineerAssigned)
    assert event.engineer_id == "b" and event.open_jobs_before == 2
    assert "DSP-1" in event.reason


def test_a_ticket_nobody_can_take_waits_once_and_is_assigned_later():
    waiting = domain.decide_assignment(Visit("t1"), [], region="cn-east", skill="heater", now=NOW)
    assert isinstance(waiting, AssignmentWaiting)
    visit = domain.evolve(Visit("t1"), waiting)
    assert domain.decide_assignment(visit, [], region="cn-east", skill="heater", now=NOW) is None
    later = domain.decide_assignment(visit, [eng("a")], region="cn-east", skill="heater", now=NOW)
    assert isinstance(later, EngineerAssigned)


def test_an_assigned_ticket_is_not_assigned_again():
    assigned = domain.fold(
        "t1",
        [
            EngineerAssigned(
                ticket_id="t1",
                engineer_id="a",
                region="cn-east",
                skill="heater",
                open_jobs_before=0,
                reason="r",
                assigned_at=NOW,
            )
        ],
    )
    assert (
        domain.decide_assignment(assigned, [eng("b")], region="cn-east", skill="heater", now=NOW)
        is None
    )


def _assigned() -> Visit:
    return Visit("t1", VisitState.ASSIGNED, engineer_id="a", region="cn-east", skill="heater")


def test_completion_before_arrival_is_an_illegal_transition_naming_the_state():
    with pytest.raises(IllegalTransition) as err:
        domain.decide_completion(_assigned(), resolution="fixed", now=NOW)
    assert err.value.state is VisitState.ASSIGNED


def test_a_second_completion_is_an_illegal_transition():
    visit = _assigned()
    visit = domain.evolve(visit, domain.decide_arrival(visit, engineer_id="a", now=NOW))
    visit = domain.evolve(visit, domain.decide_completion(visit, resolution="fixed", now=NOW))
    assert visit.state is VisitState.COMPLETED
    with pytest.raises(IllegalTransition, match="already completed"):
        domain.decide_completion(visit, resolution="again", now=NOW)


def test_only_the_assigned_engineer_can_arrive():
    with pytest.raises(IllegalTransition, match="not the one assigned"):
        domain.decide_arrival(_assigned(), engineer_id="intruder", now=NOW)
    with pytest.raises(IllegalTransition, match="needs an assigned engineer"):
        domain.decide_arrival(Visit("t1"), engineer_id=None, now=NOW)
