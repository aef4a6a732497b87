"""Properties of each feedback aggregate over `evolve(decide(...))`: the decided events,
folded, give a state in which the decision's invariant holds, and the same command
decided again on that state is refused or changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repairline_contracts.feedback import CallbackAnswers
from repairline_feedback.domain import complaint, followup, key_customer, sample
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition

PACK = load_pack("water-heater")
START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
SERVED = followup.ServedTicket("t1", engineer_id="eng-1", outlet_id="o1")

moments = st.integers(min_value=0, max_value=60 * 24 * 40).map(
    lambda minutes: START + timedelta(minutes=minutes)
)
grades = st.sampled_from(["satisfied", "average", "dissatisfied"])
calls = st.builds(
    followup.RecordCallback,
    callback_id=st.just("t1:after_service"),
    reached=st.booleans(),
    answers=st.just(CallbackAnswers()),
    grade=grades,
    reason=st.sampled_from(["leaking", "no hot water"]),
)


def evolve_all(evolve, state, events):
    return reduce(evolve, events, state)


def due_follow_up(attempt: int) -> followup.FollowUp:
    """The ticket's after-service callback, come due for the `attempt`th time."""
    scheduled = followup.schedule_after_service(PACK, ticket_id="t1", completed_at=START)
    events = [scheduled]
    for n in range(1, attempt + 1):
        fired = followup.fire(
            START, ticket_id="t1", callback_id=scheduled.callback_id, now=START, attempt=n
        )
        events.append(fired)
        if n < attempt:
            events.append(
                followup.decide_unreached(
                    PACK,
                    followup.fold("t1", events).callbacks[scheduled.callback_id],
                    ticket_id="t1",
                    now=START,
                )
            )
    return followup.fold("t1", events)


@settings(max_examples=60, deadline=None)
@given(attempt=st.integers(min_value=1, max_value=5), cmd=calls, now=moments)
def test_fbk_3_5_a_recorded_call_leaves_the_callback_no_longer_due_and_a_second_is_refused(
    attempt, cmd, now
):
    state = due_follow_up(attempt)
    events = followup.decide_callback(PACK, state, cmd, served=SERVED, case_id="k", now=now)
    after = evolve_all(followup.evolve, state, events)
    callback = after.callbacks[cmd.callback_id]
    assert callback.state in ("completed", "retry_pending", "exhausted")
    assert callback.state == "completed" or not cmd.reached
    if cmd.reached and cmd.grade == "dissatisfied":  # FBK-5: two more callbacks, scheduled
        assert [c.state for c in after.callbacks.values()].count("scheduled") == 2
    with pytest.raises(IllegalTransition):
        followup.decide_callback(PACK, after, cmd, served=SERVED, case_id="k", now=now)


@settings(max_examples=40, deadline=None)
@given(reason=st.sampled_from(["after_service", "after_guidance"]), at=moments)
def test_fbk_1_fbk_2_a_callback_is_scheduled_once(reason, at):
    cmd = followup.ScheduleCallback("t1", reason, at)
    state = followup.fold("t1", [])
    events = followup.decide_schedule(PACK, state, cmd)
    after = evolve_all(followup.evolve, state, events)
    assert after.callbacks[f"t1:{reason}"].state == "scheduled"
    assert events[0].due_at > at  # type: ignore[attr-defined]
    assert followup.decide_schedule(PACK, after, cmd) == []


@settings(max_examples=40, deadline=None)
@given(
    population=st.lists(st.uuids().map(str), min_size=0, max_size=40, unique=True),
    share=st.integers(min_value=1, max_value=100),
    now=moments,
)
def test_fbk_7_a_drawn_sample_is_a_subset_of_the_served_and_is_never_redrawn(
    population, share, now
):
    state = sample.fold("survey:2030", [])
    cmd = sample.DrawSample(2030, share)
    events = sample.decide_draw(PACK, state, cmd, served=population, now=now)
    after = evolve_all(sample.evolve, state, events)
    assert after.drawn is not None and set(after.drawn.sample) <= set(population)
    assert after.drawn.population == len(population)
    with pytest.raises(IllegalTransition):
        sample.decide_draw(PACK, after, cmd, served=population, now=now)


@settings(max_examples=40, deadline=None)
@given(grade=grades, constructive=st.booleans(), now=moments)
def test_fbk_7_war_11_a_sampled_customer_answers_the_years_survey_once(grade, constructive, now):
    drawn = sample.decide_sample(
        PACK, year=2030, ticket_ids=["t1"], percent=100, drawn=None, now=START
    )
    served = followup.ServedTicket(
        "t1", product_line="instant_water_heater", purchase_date=date(2026, 1, 8)
    )
    cmd = followup.AnswerSurvey("t1", 2030, grade, "an answer", constructive)
    state = followup.fold("t1", [])
    events = followup.decide_answer_survey(PACK, state, cmd, drawn=drawn, served=served, now=now)
    assert len(events) == (2 if constructive else 1)  # WAR-11: a reward when constructive
    after = evolve_all(followup.evolve, state, events)
    assert 2030 in after.surveyed
    with pytest.raises(IllegalTransition):
        followup.decide_answer_survey(PACK, after, cmd, drawn=drawn, served=served, now=now)


kinds = st.sampled_from(["attitude", "overcharge", "quality", "lateness"])


@settings(max_examples=60, deadline=None)
@given(kind=kinds, engineer=st.sampled_from([None, "eng-1"]), filed_at=moments, later=moments)
def test_fbk_6_a_complaint_is_answered_once_escalated_once_and_decided_once(
    kind, engineer, filed_at, later
):
    cmd = complaint.FileComplaint("t1", "app", kind, "x", engineer, 8000)
    served = followup.ServedTicket("t1", engineer_id=None, outlet_id="o1")
    filed = complaint.fold(
        "complaint:c1",
        complaint.decide_file(PACK, cmd, complaint_id="c1", served=served, now=filed_at),
    )
    assert filed is not None and filed.state == "open" and filed.filed.answer_by > filed_at
    breach = complaint.decide_breach(PACK, filed, now=later)
    assert (breach is not None) == (later >= filed.filed.answer_by)
    escalated = complaint.evolve(filed, breach) if breach else filed
    assert complaint.decide_breach(PACK, escalated, now=later) is None

    answered = complaint.evolve(
        escalated, complaint.decide_answer(escalated, answer="a", now=later)
    )
    assert answered is not None and answered.state == "answered"
    with pytest.raises(IllegalTransition):
        complaint.decide_answer(answered, answer="again", now=later)
    decided = complaint.evolve(
        answered, complaint.decide_verification(answered, verified=True, finding="f", now=later)
    )
    assert decided is not None and decided.state == "verified"
    with pytest.raises(IllegalTransition):
        complaint.decide_verification(decided, verified=False, finding="f", now=later)


@settings(max_examples=40, deadline=None)
@given(name=st.text(min_size=1, max_size=20), note=st.text(max_size=20))
def test_fbk_2_a_key_customer_noted_again_alike_records_nothing(name, note):
    cmd = key_customer.NoteKeyCustomer(name, note)
    state = key_customer.fold(key_customer.key_customer_stream(name), [])
    events = key_customer.decide_note(state, cmd)
    after = evolve_all(key_customer.evolve, state, events)
    assert after.note == note and len(events) == 1
    assert key_customer.decide_note(after, cmd) == []
