"""Each ticket is decided by its own policy pack and version, in one process: the pack its
events name (bound by the reaction, then read from its stream by later commands), and the
version it was opened under, with a later version's open-ticket sections from their date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from repairline_contracts.dispatch import EngineerAssigned, SlaDeadlinesRecomputed
from repairline_contracts.intake import GeoPoint
from repairline_dispatch import commands
from repairline_dispatch.domain import plan, visit
from repairline_dispatch.domain.roster import pack_hours
from repairline_platform.commands import bound
from repairline_platform.policy import Policy, deciding_with
from repairline_rules import PackBook, load_book
from tests.unit.dispatch.fakes import NOW, World, book_world, engineer, job

# the later version of the test pack takes effect on Wednesday 25 November 2026, Shanghai
CHANGE_DAY = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


async def opened(w: World, ticket_id: str, policy: Policy) -> EngineerAssigned:
    """Intake's request for the ticket reacted to, its events naming `policy`."""
    with bound(f"corr-{ticket_id}", f"intake-{ticket_id}"), deciding_with(policy):
        async with w.events.unit_of_work() as uow:
            await commands.assign(visit.Assign(ticket_id), w.ctx, uow)
    [assigned] = [e for e in w.events.events(ticket_id) if isinstance(e, EngineerAssigned)]
    return assigned


def two_pack_world() -> World:
    w = book_world(load_book(["water-heater", "pc-depot"]), default="water-heater")
    w.store.service_point_regions.add("cn-east")
    w.store.roster["eng-wh"] = engineer("eng-wh")
    w.store.roster["eng-pc"] = engineer("eng-pc", skills=frozenset({"notebook"}))
    return w


async def test_dsp_3_two_packs_in_one_process_each_ticket_gets_its_own_deadlines():
    w = two_pack_world()
    w.store.jobs["wh-1"] = job("wh-1")
    w.store.jobs["pc-1"] = job("pc-1", skill="notebook", service_mode="depot")
    w.store.jobs["wh-2"] = job("wh-2")

    heater = await opened(w, "wh-1", Policy("water-heater", "2026.1"))
    notebook = await opened(w, "pc-1", Policy("pc-depot", "2026.1"))
    heater_2 = await opened(w, "wh-2", Policy("water-heater", "2026.1"))

    # water-heater: on site within 24 clock hours in a provincial capital; no depot terms
    assert heater.visit_by == NOW + timedelta(hours=24) and heater.repair_by is None
    assert heater.decision.pack_id == "water-heater"
    assert heater_2.visit_by == heater.visit_by and heater_2.decision.pack_id == "water-heater"
    # pc-depot: no on-site commitment; a notebook at the depot in 3 working days
    assert notebook.visit_by is None and notebook.repair_by is not None
    assert notebook.repair_by > NOW + timedelta(days=2)
    assert notebook.decision.pack_id == "pc-depot"
    packs = {s: {e.policypack for e in w.events.streams[s]} for s in ("wh-1", "pc-1")}
    assert packs == {"wh-1": {"water-heater"}, "pc-1": {"pc-depot"}}


async def test_dsp_5_a_later_command_with_nothing_bound_decides_with_the_streams_pack():
    w = two_pack_world()
    w.store.jobs["pc-1"] = job("pc-1", skill="notebook", service_mode="depot")
    w.store.jobs["wh-1"] = job("wh-1")
    await opened(w, "pc-1", Policy("pc-depot", "2026.1"))
    await opened(w, "wh-1", Policy("water-heater", "2026.1"))
    with bound("c", "http:c"):  # a dispatcher's request: no pack bound
        await commands.escalate(visit.Escalate("pc-1", "intermittent fault"), w.ctx)
        await commands.escalate(visit.Escalate("wh-1", "intermittent fault"), w.ctx)
    escalations = {s: w.events.events(s)[-1] for s in ("pc-1", "wh-1")}
    assert {s: e.decision.pack_id for s, e in escalations.items()} == {  # type: ignore[attr-defined]
        "pc-1": "pc-depot",
        "wh-1": "water-heater",
    }
    assert w.events.streams["pc-1"][-1].policypack == "pc-depot"


def versioned_book(tmp_path: Path, *, open_tickets: bool) -> PackBook:
    """water-heater with a version 2026.2 from 25 November 2026: on site within 12 hours in
    a central city (24 before); for open tickets too when `open_tickets`."""
    shipped = (files("repairline_rules") / "packs" / "water-heater.toml").read_text("utf-8")
    later = [
        "[[versions]]",
        'version = "2026.2"',
        "effective_from = 2026-11-25",
        'open_tickets = ["dispatch.response"]' if open_tickets else "",
        "[versions.dispatch.response]",
        'visit_central_city = { amount = 12, unit = "hours" }',
    ]
    path = tmp_path / "water-heater.toml"
    path.write_text(shipped + "\n" + "\n".join(later) + "\n", "utf-8")
    return load_book([path])


async def unreachable_until(w: World, ticket_id: str, reached_at: datetime) -> None:
    """DSP-8: the customer not reached now, then reached at `reached_at` (clock held)."""
    with bound("c", "http:c"):
        tried = visit.ReportUnreachable(ticket_id, w.clock.now(), "phone")
        await commands.report_unreachable(tried, w.ctx)
        w.clock.advance(reached_at - w.clock.now())
        await commands.record_customer_reached(visit.RecordCustomerReached(ticket_id), w.ctx)


async def versioned_world(tmp_path: Path, *, open_tickets: bool) -> World:
    """t-old opened on 24 November (2026.1, booked for the 26th), t-new on the 25th."""
    book = versioned_book(tmp_path, open_tickets=open_tickets)
    w = book_world(book, default="water-heater")
    w.store.service_point_regions.add("cn-east")
    w.store.roster["eng-1"] = engineer("eng-1")
    window = (NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1))
    w.store.jobs["t-old"] = job("t-old", window=window)
    assert book.opened_at("water-heater", NOW).version == "2026.1"
    old = await opened(w, "t-old", Policy("water-heater", "2026.1"))
    assert old.visit_by == NOW + timedelta(hours=24)
    w.clock.advance(timedelta(hours=1))
    # 10:00 the customer cannot be reached; reached the next day at 01:00, after the change
    await unreachable_until(w, "t-old", CHANGE_DAY + timedelta(hours=1))
    after = CHANGE_DAY + timedelta(hours=1)
    assert book.opened_at("water-heater", after).version == "2026.2"
    w.store.jobs["t-new"] = job("t-new", requested_at=after)
    new = await opened(w, "t-new", Policy("water-heater", "2026.2"))
    assert new.visit_by == after + timedelta(hours=12)
    assert new.decision.pack_version == "2026.2"
    return w


def recomputed(w: World, ticket_id: str) -> SlaDeadlinesRecomputed:
    [event] = [e for e in w.events.events(ticket_id) if isinstance(e, SlaDeadlinesRecomputed)]
    return event


async def test_dsp_3_a_ticket_keeps_the_version_it_was_opened_under(tmp_path):
    w = await versioned_world(tmp_path, open_tickets=False)
    old = recomputed(w, "t-old")
    held = CHANGE_DAY + timedelta(hours=1) - (NOW + timedelta(hours=1))  # 15 hours
    assert old.visit_by == NOW + timedelta(hours=24) + held  # 24 hours, as when opened
    assert old.decision.pack_version == "2026.1"


async def test_dsp_3_a_later_versions_open_ticket_section_applies_from_its_date(tmp_path):
    w = await versioned_world(tmp_path, open_tickets=True)
    old = recomputed(w, "t-old")
    held = CHANGE_DAY + timedelta(hours=1) - (NOW + timedelta(hours=1))
    assert old.visit_by == NOW + timedelta(hours=12) + held  # the 12 hours for open tickets
    assert old.decision.pack_version == "2026.1+2026.2"
    assert {e.policyversion for e in w.events.streams["t-old"]} == {"2026.1"}


async def test_dsp_10_an_urgent_ticket_of_another_pack_is_released_under_its_own_pack():
    w = two_pack_world()
    both = frozenset({"instant_water_heater", "notebook"})
    w.store.roster = {"eng-1": engineer("eng-1", skills=both)}
    w.store.jobs["wh-1"] = job("wh-1")
    w.store.jobs["pc-1"] = job("pc-1", skill="notebook")
    await opened(w, "wh-1", Policy("water-heater", "2026.1"))
    await opened(w, "pc-1", Policy("pc-depot", "2026.1"))
    w.store.roster["eng-2"] = engineer("eng-2", skills=frozenset({"notebook"}))
    with bound("c", "http:c"):
        await commands.arrive(visit.Arrive("wh-1"), w.ctx)
        await commands.interrupt(visit.Interrupt("wh-1", "pc-1", 40), w.ctx)
    released = [type(e).__name__ for e in w.events.events("pc-1")]
    assert released == ["EngineerAssigned", "EngineerReleased", "EngineerAssigned"]
    assert {e.policypack for e in w.events.streams["pc-1"]} == {"pc-depot"}
    again = w.events.events("pc-1")[-1]
    assert isinstance(again, EngineerAssigned) and again.engineer_id == "eng-2"
    assert again.decision.pack_id == "pc-depot"


async def test_dsp_1_dsp_3_a_day_plan_of_two_packs_commits_each_ticket_by_its_own_pack():
    w = book_world(load_book(["water-heater", "pc-depot"]), default="water-heater")
    w.store.service_point_regions.add("cn-east")
    home = GeoPoint(lat=30.27, lon=120.15)
    w.store.jobs["wh-1"] = job("wh-1", location=home)
    w.store.jobs["pc-1"] = job("pc-1", skill="notebook", location=home)
    await opened_waiting(w, "wh-1", Policy("water-heater", "2026.1"))
    await opened_waiting(w, "pc-1", Policy("pc-depot", "2026.1"))
    hours = pack_hours(w.pack)
    both = frozenset({"instant_water_heater", "notebook"})
    w.store.roster["eng-1"] = engineer("eng-1", skills=both, hours=hours, home=home)
    day = date(2026, 11, 26)
    with bound("corr-plan", "http:corr-plan"):
        proposed = await commands.propose_day_plan(plan.ProposeDayPlan("cn-east", day, 0.5), w.ctx)
        committed = plan.CommitDayPlan(proposed.data["plan_id"], "dispatcher-7")
        await commands.commit_day_plan(committed, w.ctx)
    heater, notebook = (assignment(w, t) for t in ("wh-1", "pc-1"))
    assert heater.visit_by == NOW + timedelta(hours=24)  # water-heater's DSP-3
    assert heater.decision.pack_id == "water-heater"
    assert notebook.visit_by is None and notebook.decision.pack_id == "pc-depot"
    assert {e.policypack for e in w.events.streams["pc-1"]} == {"pc-depot"}


async def opened_waiting(w: World, ticket_id: str, policy: Policy) -> None:
    """Intake's request reacted to while nobody can take it: it waits, naming `policy`."""
    with bound(f"corr-{ticket_id}", f"intake-{ticket_id}"), deciding_with(policy):
        async with w.events.unit_of_work() as uow:
            await commands.assign(visit.Assign(ticket_id), w.ctx, uow)
    assert [type(e).__name__ for e in w.events.events(ticket_id)] == ["AssignmentWaiting"]


def assignment(w: World, ticket_id: str) -> EngineerAssigned:
    [assigned] = [e for e in w.events.events(ticket_id) if isinstance(e, EngineerAssigned)]
    return assigned
