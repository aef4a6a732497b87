"""Feedback decides with each ticket's own policy pack: the FBK-2 callback and the FBK-6
complaint clock of a pc-depot and a water-heater ticket in one process, on the
in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, date, datetime

from repairline_contracts.dispatch import RepairCompleted
from repairline_feedback import commands
from repairline_feedback.domain.complaint import FileComplaint
from repairline_feedback.domain.followup import ServedTicket
from repairline_feedback.reactions import ScheduleCallbacks
from repairline_platform import commands as platform
from repairline_platform.clock import FixedClock
from repairline_platform.policy import Policy
from repairline_platform.testing import InMemoryEventStore
from repairline_rules.packs import load_book
from tests.support.pack_source import pack_source
from tests.support.system import delivered
from tests.unit.feedback.fakes import needs

BOOK = load_book(["water-heater", "pc-depot"])
WH, PC = BOOK.versions("water-heater")[0], BOOK.versions("pc-depot")[0]
COMPLETED = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # a Monday, 14:00 in Shanghai


def served(ticket_id: str, product_line: str) -> ServedTicket:
    return ServedTicket(
        ticket_id,
        region="cn-east",
        engineer_id="eng-1",
        outlet_id="outlet-1",
        product_line=product_line,
        purchase_date=date(2026, 1, 8),
        serial_no=f"SN-{ticket_id}",
    )


class World:
    """Feedback over a book of two packs, as a deployment runs it (default: water-heater)."""

    def __init__(self) -> None:
        self.clock = FixedClock(COMPLETED)
        self.events = InMemoryEventStore(self.clock)
        self.needs, self.store = needs(pack_source(BOOK, "water-heater"), self.events)
        for ticket, line, pack in (("t-wh", "instant_water_heater", WH), ("t-pc", "notebook", PC)):
            self.store.serve(served(ticket, line), COMPLETED)
            self.store.policies[ticket] = Policy(pack.id, pack.version)

    def completed(self, ticket_id: str, pack) -> list:
        """Dispatch's RepairCompleted as feedback receives it, naming the ticket's pack."""
        event = RepairCompleted(
            ticket_id=ticket_id, engineer_id="eng-1", completed_at=COMPLETED, resolution="done"
        )
        return delivered([event], at=COMPLETED, pack=pack)


async def test_fbk_2_each_completed_repair_is_called_back_by_its_own_pack():
    world = World()
    items = [*world.completed("t-pc", PC), *world.completed("t-wh", WH)]
    async with world.events.unit_of_work() as uow:
        await ScheduleCallbacks(world.needs).handle(uow, items)
    heater = world.events.timers["t-wh:after_service"].due_at
    notebook = world.events.timers["t-pc:after_service"].due_at
    assert heater == datetime(2026, 6, 2, 0, 30, tzinfo=UTC)  # water-heater: at opening, 08:30
    assert notebook == datetime(2026, 6, 2, 2, 0, tzinfo=UTC)  # pc-depot: at 10:00
    [scheduled_wh] = world.events.events("t-wh")
    [scheduled_pc] = world.events.events("t-pc")
    assert (scheduled_wh.decision.pack_id, scheduled_pc.decision.pack_id) == (
        "water-heater",
        "pc-depot",
    )
    stamped = {env.subject: env.policypack for env in world.events.envelopes()}
    assert stamped == {"t-wh": "water-heater", "t-pc": "pc-depot"}


async def test_fbk_6_a_complaint_filed_over_http_is_clocked_by_its_ticket_pack():
    world = World()
    filed = {}
    for ticket_id in ("t-wh", "t-pc"):
        cmd = FileComplaint(ticket_id, "hotline", "attitude", "rude on the phone")
        with platform.bound("corr-1", "http:corr-1"):
            result = await platform.in_unit(
                world.events.unit_of_work,
                lambda uow, cmd=cmd: commands.file_complaint(cmd, uow, world.needs),
            )
        [event] = world.events.events(result.stream_id)
        filed[ticket_id] = event
    # 3 working days from Monday 14:00: the close of Thursday, by each pack's hours
    assert filed["t-wh"].answer_by == datetime(2026, 6, 4, 9, 30, tzinfo=UTC)  # 17:30
    assert filed["t-pc"].answer_by == datetime(2026, 6, 4, 10, 0, tzinfo=UTC)  # 18:00
    assert filed["t-wh"].decision.pack_id == "water-heater"
    assert filed["t-pc"].decision.pack_id == "pc-depot"
    stamped = {env.data["ticket_id"]: env.policypack for env in world.events.envelopes()}
    assert stamped == {"t-wh": "water-heater", "t-pc": "pc-depot"}  # its timer's pack too
