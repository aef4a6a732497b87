"""Who may read and act on a visit, on the real PostgreSQL: an engineer his own jobs only,
a dispatcher his regions only; anything else is answered as a missing ticket (404)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from repairline_contracts.billing import QuoteAccepted
from repairline_contracts.envelope import Envelope
from repairline_dispatch import commands, views
from repairline_dispatch.domain import visit
from repairline_dispatch.main import ctx
from repairline_dispatch.projections import DispatchBoard, Jobs
from repairline_dispatch.schemas import EngineerIn
from repairline_platform.auth import Principal, bound_principal
from repairline_platform.eventstore import Delivered
from repairline_platform.runtime import Runtime
from repairline_rules.refusals import IllegalTransition, NotCaughtUp, NotFound
from tests.integration.dispatch.test_engineer_locks import _react
from tests.integration.platform.dispatch import dispatch_storage
from tests.support.factories import repair_requested, warranty_decided
from tests.support.system import delivered

ENGINEERS = ("eng-scope-a", "eng-scope-b")


@pytest.fixture
async def dispatch(prefix: str) -> AsyncIterator[Runtime]:
    async with dispatch_storage(prefix) as rt:
        yield rt


def engineer(engineer_id: str) -> Principal:
    p = Principal(engineer_id, frozenset({"engineer"}), frozenset({"cn-east"}), engineer_id)
    return p.acting(frozenset({"engineer", "dispatcher"}))


def dispatcher(region: str) -> Principal:
    p = Principal(f"disp-{region}", frozenset({"dispatcher"}), regions=frozenset({region}))
    return p.acting(frozenset({"engineer", "dispatcher"}))


async def _board(rt: Runtime) -> None:
    """The board folded from the event store, as its consumer would."""
    rows = await rt.pool.fetch("select envelope from events order by global_position")
    envelopes = [Envelope.model_validate_json(r["envelope"]) for r in rows]
    async with rt.unit_of_work() as uow:
        await DispatchBoard().handle(uow, [Delivered(e, e.event()) for e in envelopes])


async def _one_job_each(rt: Runtime) -> dict[str, str]:
    """Two cn-east tickets, one assigned to each engineer: engineer -> ticket."""
    for engineer_id in ENGINEERS:
        body = EngineerIn(
            name=engineer_id, region="cn-east", skills=["instant_water_heater"], capacity=1
        )
        await commands.change_engineer(body.command(engineer_id), ctx(rt))
    for _ in ENGINEERS:
        await _react(rt, repair_requested())
    await _board(rt)
    rows = await rt.pool.fetch("select ticket_id, engineer_id from engineer_jobs where open")
    jobs = {r["engineer_id"]: r["ticket_id"] for r in rows}
    assert set(jobs) == set(ENGINEERS)
    return jobs


async def test_engineer_reads_his_job_and_gets_404_for_another_engineers(dispatch: Runtime):
    jobs = await _one_job_each(dispatch)
    mine, theirs = jobs[ENGINEERS[0]], jobs[ENGINEERS[1]]
    with bound_principal(engineer(ENGINEERS[0])):
        assert (await views.board(dispatch.pool, mine))["engineer_id"] == ENGINEERS[0]
        with pytest.raises(NotFound, match=f"dispatch has no ticket {theirs}"):
            await views.board(dispatch.pool, theirs)
        [seen] = await views.engineers(dispatch.pool)
        assert seen["engineer_id"] == ENGINEERS[0]
        with pytest.raises(NotFound):
            await views.schedule(dispatch.pool, ENGINEERS[1])
        assert await views.schedule(dispatch.pool, ENGINEERS[0]) == []


async def test_engineer_cannot_arrive_at_another_engineers_job_404(dispatch: Runtime):
    jobs = await _one_job_each(dispatch)
    mine, theirs = jobs[ENGINEERS[0]], jobs[ENGINEERS[1]]
    with bound_principal(engineer(ENGINEERS[0])):
        with pytest.raises(NotFound, match=f"no dispatch ticket {theirs}"):
            await commands.arrive(visit.Arrive(theirs), ctx(dispatch))
        arrived = await commands.arrive(visit.Arrive(mine), ctx(dispatch))
    assert arrived.events[0] == "ArrivedOnSite"
    versions = await dispatch.pool.fetchval(
        "select count(*) from events where stream_id = $1", theirs
    )
    assert versions == 1  # assigned, nothing more


async def test_dispatcher_of_cn_north_cannot_see_a_cn_east_visit_or_its_alerts(dispatch: Runtime):
    jobs = await _one_job_each(dispatch)
    ticket = jobs[ENGINEERS[0]]
    with bound_principal(dispatcher("cn-north")):
        with pytest.raises(NotFound, match=f"dispatch has no ticket {ticket}"):
            await views.board(dispatch.pool, ticket)
        assert await views.engineers(dispatch.pool) == []
        assert await views.alerts(dispatch.pool, None, 100) == []
    with bound_principal(dispatcher("cn-east")):
        assert (await views.board(dispatch.pool, ticket))["ticket_id"] == ticket
        assert len(await views.engineers(dispatch.pool)) == 2


async def test_fee4_what_dispatch_received_of_a_quote_is_read_in_the_visits_scope(
    dispatch: Runtime,
):
    """FEE-4, DSP-11: the answer billing recorded is `quote_state` here once dispatch has
    applied it (what a completion of a chargeable job waits for); null before; another
    engineer's job and another region's are missing tickets."""
    jobs = await _one_job_each(dispatch)
    mine, theirs = jobs[ENGINEERS[0]], jobs[ENGINEERS[1]]
    with bound_principal(engineer(ENGINEERS[0])):
        before = await views.received(dispatch.pool, mine, dispatch.clock.now())
    assert (before["quote_id"], before["quote_state"], before["closed"]) == (None, None, False)
    now = dispatch.clock.now()
    accepted = QuoteAccepted(ticket_id=mine, quote_id="q-1", total_fen=7500, accepted_at=now)
    async with dispatch.unit_of_work() as uow:
        await Jobs().handle(uow, delivered([accepted], at=now, pack=dispatch.pack_now(now)))
    with bound_principal(engineer(ENGINEERS[0])):
        after = await views.received(dispatch.pool, mine, dispatch.clock.now())
        with pytest.raises(NotFound, match=f"dispatch has no ticket {theirs}"):
            await views.received(dispatch.pool, theirs, dispatch.clock.now())
    assert (after["ticket_id"], after["quote_id"], after["quote_state"]) == (
        mine,
        "q-1",
        "accepted",
    )
    with bound_principal(dispatcher("cn-north")), pytest.raises(NotFound):
        await views.received(dispatch.pool, mine, dispatch.clock.now())
    with bound_principal(dispatcher("cn-east")):
        assert (await views.received(dispatch.pool, theirs, dispatch.clock.now()))[
            "quote_state"
        ] is None
    with pytest.raises(NotFound, match="dispatch has no ticket nobody"):
        await views.received(dispatch.pool, "nobody", dispatch.clock.now())


async def test_war_4_what_dispatch_received_names_the_visits_latest_inspection(
    dispatch: Runtime,
):
    """WAR-4, FEE-4: the phone names the inspection its quote follows, so billing prices
    only once intake's warranty decision on it has arrived: `inspection_id` is the event
    id of the visit's latest inspection, null before any."""
    jobs = await _one_job_each(dispatch)
    mine = jobs[ENGINEERS[0]]
    with bound_principal(engineer(ENGINEERS[0])):
        assert (await views.received(dispatch.pool, mine, dispatch.clock.now()))[
            "inspection_id"
        ] is None
        await commands.arrive(visit.Arrive(mine), ctx(dispatch))
        first = await commands.record_inspection(
            visit.RecordInspection(mine, {"misuse": False}), ctx(dispatch)
        )
        assert (await views.received(dispatch.pool, mine, dispatch.clock.now()))[
            "inspection_id"
        ] == first.event_ids[0]
        again = await commands.record_inspection(
            visit.RecordInspection(mine, {"misuse": True}), ctx(dispatch)
        )
        seen = await views.received(dispatch.pool, mine, dispatch.clock.now())
    assert seen["inspection_id"] == again.event_ids[0] != first.event_ids[0]
    assert seen["warranty_pending"]


async def test_war_4_fee_4_work_after_an_inspection_waits_for_intakes_decision_on_it(
    dispatch: Runtime,
):
    """On the real store: the engineer measured 250 V; until intake's decision on that
    inspection is received (the copy keeps what caused each decision), starting work is
    refused for now; the decision makes the job chargeable, and work then waits for the
    quote instead (FEE-4)."""
    jobs = await _one_job_each(dispatch)
    mine = jobs[ENGINEERS[0]]
    with bound_principal(engineer(ENGINEERS[0])):
        await commands.arrive(visit.Arrive(mine), ctx(dispatch))
        inspected = await commands.record_inspection(
            visit.RecordInspection(mine, {"supply_voltage_v": 250.0}), ctx(dispatch)
        )
        with pytest.raises(NotCaughtUp, match="inspection"):
            await commands.start_work(visit.StartWork(mine), ctx(dispatch))
    now = dispatch.clock.now()
    decision = warranty_decided(  # WAR-4: 250 V measured, the repair is chargeable
        mine, start_date=now.date(), start_source="invoice", days_paused=0, at=now
    ).model_copy(update={"free_visit": False, "chargeable": True})
    pack = dispatch.pack_now(now)
    earlier = delivered([decision], at=now, pack=pack, causation_id="intake-desk")
    on_it = delivered([decision], at=now, pack=pack, causation_id=inspected.event_ids[0])
    async with dispatch.unit_of_work() as uow:
        await Jobs().handle(uow, earlier)  # a decision caused by something else
    with bound_principal(engineer(ENGINEERS[0])):
        assert (await views.received(dispatch.pool, mine, dispatch.clock.now()))["warranty_pending"]
    async with dispatch.unit_of_work() as uow:
        await Jobs().handle(uow, on_it)
    with bound_principal(engineer(ENGINEERS[0])):
        assert not (await views.received(dispatch.pool, mine, dispatch.clock.now()))[
            "warranty_pending"
        ]
        with pytest.raises(IllegalTransition) as awaiting:
            await commands.start_work(visit.StartWork(mine), ctx(dispatch))
    assert awaiting.value.state == "awaiting_quote_acceptance"
