"""Each aggregate's `evolve(decide(...))`, checked with generated inputs (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repairline_contracts.dispatch import AssignmentWaiting, EngineerAssigned
from repairline_dispatch.domain import roster, visit
from repairline_dispatch.domain.roster import Engineer
from repairline_dispatch.domain.visit import Visit, VisitState
from repairline_rules import load_pack
from repairline_rules.refusals import DomainError

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
PACK = load_pack("home-appliance")

engineers = st.lists(
    st.builds(
        Engineer,
        engineer_id=st.sampled_from(["a", "b", "c", "d", "e"]),
        region=st.sampled_from(["r", "s"]),
        skills=st.frozensets(st.sampled_from(["tv", "fridge"]), min_size=1),
        open_jobs=st.integers(0, 6),
        active=st.booleans(),
        capacity=st.none() | st.integers(0, 6),
    ),
    max_size=6,
    unique_by=lambda e: e.engineer_id,
)


def _evolved(v: Visit, events: Any) -> Visit:
    for event in events:
        v = visit.evolve(v, event)
    return v


@FAST
@given(engineers, st.frozensets(st.sampled_from(["a", "b", "c"])))
def test_dsp_1_an_assignment_goes_to_an_able_engineer_with_fewest_jobs_and_is_not_repeated(
    roster_now, released
):
    v = Visit("t1", released=released)
    decided = visit.decide_assignment(v, roster_now, region="r", skill="tv", now=NOW)
    after = _evolved(v, [decided])
    able = [
        e
        for e in roster_now
        if e.active
        and e.region == "r"
        and "tv" in e.skills
        and e.engineer_id not in released
        and (e.capacity is None or e.open_jobs < e.capacity)
    ]
    if able:
        assert isinstance(decided, EngineerAssigned)
        assert after.state is VisitState.ASSIGNED and after.engineer_id == decided.engineer_id
        assert decided.open_jobs_before == min(e.open_jobs for e in able)
    else:
        assert isinstance(decided, AssignmentWaiting) and after.state is VisitState.WAITING
    # deciding again on the evolved visit changes nothing
    assert visit.decide_assignment(after, roster_now, region="r", skill="tv", now=NOW) is None


def _arrive(v: Visit) -> list[Any]:
    return [visit.decide_arrival(v, engineer_id=None, now=NOW)]


def _complete(v: Visit) -> list[Any]:
    return [visit.decide_completion(v, resolution="fixed", now=NOW)]


def _carry(v: Visit) -> list[Any]:
    return [visit.decide_carry_forward(v, done="half", remaining="rest", now=NOW)]


def _release(v: Visit) -> list[Any]:
    return [visit.decide_reassignment(v, reason="called away", now=NOW)]


def _start(v: Visit) -> list[Any]:
    return [
        visit.decide_work_start(v, chargeable=False, quote_accepted=False, quote_id=None, now=NOW)
    ]


def _book(v: Visit) -> list[Any]:
    e = Engineer(v.engineer_id or "a", "r", frozenset({"tv"}), open_jobs=1)
    window = (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))
    return [visit.decide_appointment(PACK, v, e, window=window, travel=0, confirm_by=None, now=NOW)]


def _end(v: Visit) -> list[Any]:
    ended = visit.decide_end(v, reason="closed", now=NOW)
    return [ended] if ended is not None else []


COMMANDS = {
    "arrive": _arrive,
    "complete": _complete,
    "carry": _carry,
    "release": _release,
    "start": _start,
    "book": _book,
    "end": _end,
}
# what a visit may never be asked twice in a row once it succeeded
NOT_TWICE = {"arrive", "complete", "carry", "release", "start", "book"}


@FAST
@given(st.lists(st.sampled_from(sorted(COMMANDS)), max_size=12))
def test_a_visit_decided_command_by_command_is_refused_or_moves_and_is_never_repeated(names):
    v = visit.fold(
        "t1",
        [
            visit.decide_assignment(
                Visit("t1"),
                [Engineer("a", "r", frozenset({"tv"}), 0)],
                region="r",
                skill="tv",
                now=NOW,
            )
        ],
    )
    for name in names:
        try:
            events = COMMANDS[name](v)
        except DomainError:
            continue  # a refusal leaves the visit as it was
        after = _evolved(v, events)
        if name in NOT_TWICE:
            try:
                again = COMMANDS[name](after)
            except DomainError:
                again = None
            assert again is None, f"{name} accepted twice from {v.state}"
        if name == "end":  # idempotent: over is over
            assert after.state in (VisitState.COMPLETED, VisitState.ENDED)
            assert _end(after) == []
        v = after


records = st.fixed_dictionaries(
    {
        "region": st.sampled_from(["r", "s"]),
        "skills": st.lists(st.sampled_from(["tv", "fridge"]), min_size=1),
        "active": st.booleans(),
    }
)


@FAST
@given(st.lists(records, min_size=1, max_size=6))
def test_a_roster_stream_registers_once_and_deactivates_only_an_active_engineer(changes):
    events: list[Any] = []
    for record in changes:
        previous = roster.fold("engineer:e1", events)
        event = roster.engineer_changed("e1", previous, record, now=NOW)
        assert (event.change == "registered") == (previous is None)
        if event.change == "deactivated":
            assert previous is not None and previous["active"] and not record["active"]
        events.append(event)
        assert roster.fold("engineer:e1", events) == event.model_dump(mode="json")
