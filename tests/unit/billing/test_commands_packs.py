"""Billing decides with each ticket's own policy pack and version: two packs in one
process, and a tariff change from a date (FEE-1), on the in-memory unit of work."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from repairline_billing import commands
from repairline_billing.commands import Billing
from repairline_billing.domain.account import ChargeRepair
from repairline_billing.domain.pricing import TicketFacts
from repairline_platform.clock import FixedClock
from repairline_platform.commands import bound
from repairline_platform.policy import Policy, deciding_with
from repairline_platform.testing import InMemoryEventStore
from repairline_rules.packs import PackBook, load_book
from tests.support.pack_source import pack_source, with_version

from .fakes import FakeStore

SH = ZoneInfo("Asia/Shanghai")
JUNE = datetime(2030, 6, 20, 10, 0, tzinfo=SH)
JULY = datetime(2030, 7, 10, 10, 0, tzinfo=SH)
HEATER = TicketFacts(
    ticket_id="t-wh",
    product_line="instant_water_heater",
    city_tier="municipality",
    service_mode="on_site",
    purchase_date=date(2024, 1, 10),  # out of warranty by 2030: FEE-1 applies
    serial_no=None,
    engineer_id="e1",
    outlet_id="o1",
)
NOTEBOOK = replace(HEATER, ticket_id="t-pc", product_line="notebook")
# FEE-1: a network's new tariff for instant water heaters on site, from 1 July 2030
JULY_TARIFF = """
[[versions]]
version = "2030.7"
effective_from = 2030-07-01
{open_tickets}
[versions.fees.visit_tariff_fen.instant_water_heater.on_site]
municipality = 5000
provincial_capital = 3600
prefecture_city = 3000
county_city = 2600
"""


class World:
    """Billing over a book of packs, as a deployment runs it (default: water-heater)."""

    def __init__(self, book: PackBook, start: datetime = JUNE) -> None:
        self.clock = FixedClock(start)
        self.memory = InMemoryEventStore(self.clock)
        self.reads = FakeStore(self.memory, roster={"e1": "o1"})
        self.billing = Billing(
            pack_source(book, "water-heater"),
            self.memory.unit_of_work,
            reads=lambda _: self.reads,
        )

    def open(self, facts: TicketFacts, pack: str, version: str) -> None:
        """The ticket as billing's copy holds it: its facts and the pack it opened under."""
        self.reads.tickets[facts.ticket_id] = (facts, "cn-east")
        self.reads.policies[facts.ticket_id] = Policy(pack, version)

    async def invoice(self, ticket_id: str, at: datetime):
        self.clock.advance(at - self.clock.now())
        with bound(f"corr-{ticket_id}", f"http:{ticket_id}"):
            await self.billing.execute(commands.charge_repair, ChargeRepair(ticket_id, at))
        [invoice] = self.memory.events(ticket_id)
        return invoice


def tariff_change(tmp_path: Path, open_tickets: str = "") -> PackBook:
    later = JULY_TARIFF.format(open_tickets=open_tickets)
    return load_book([with_version(tmp_path, "water-heater", later), "pc-depot"])


async def test_fee_1_two_tickets_of_two_packs_are_invoiced_by_their_own_tariffs_in_one_process():
    world = World(load_book(["water-heater", "pc-depot"]))
    world.open(HEATER, "water-heater", "2026.1")
    world.open(NOTEBOOK, "pc-depot", "2026.1")
    heater = await world.invoice("t-wh", JUNE)
    notebook = await world.invoice("t-pc", JUNE)
    assert (heater.total_fen, notebook.total_fen) == (4000, 10000)
    assert (heater.decision.pack_id, notebook.decision.pack_id) == ("water-heater", "pc-depot")
    stamped = {env.subject: env.policypack for env in world.memory.envelopes()}
    assert stamped == {"t-wh": "water-heater", "t-pc": "pc-depot"}


async def test_fee_1_the_pack_named_on_the_event_reacted_to_decides_over_the_default():
    world = World(load_book(["water-heater", "pc-depot"]))
    world.reads.tickets["t-pc"] = (NOTEBOOK, "cn-east")  # a copy without its pack
    with deciding_with(Policy("pc-depot", "2026.1")), bound("corr", "ev-completed"):
        async with world.memory.unit_of_work() as uow:
            await commands.charge_repair(ChargeRepair("t-pc", JUNE), uow, world.billing)
    [invoice] = world.memory.events("t-pc")
    assert (invoice.total_fen, invoice.decision.pack_id) == (10000, "pc-depot")


async def test_fee_1_a_tariff_change_keeps_a_ticket_opened_before_on_the_old_fee(tmp_path):
    world = World(tariff_change(tmp_path))
    world.open(HEATER, "water-heater", "2026.1")  # opened in June
    world.open(replace(HEATER, ticket_id="t-late"), "water-heater", "2030.7")  # in July
    before = await world.invoice("t-wh", JULY)
    after = await world.invoice("t-late", JULY)
    assert (before.total_fen, before.decision.pack_version) == (4000, "2026.1")
    assert (after.total_fen, after.decision.pack_version) == (5000, "2030.7")


async def test_fee_1_a_tariff_for_open_tickets_applies_to_them_from_its_date_only(tmp_path):
    book = tariff_change(tmp_path, open_tickets='open_tickets = ["fees.visit_tariff_fen"]')
    world = World(book)
    world.open(HEATER, "water-heater", "2026.1")
    world.open(replace(HEATER, ticket_id="t-june"), "water-heater", "2026.1")
    in_june = await world.invoice("t-june", JUNE)
    in_july = await world.invoice("t-wh", JULY)
    assert (in_june.total_fen, in_june.decision.pack_version) == (4000, "2026.1")
    assert (in_july.total_fen, in_july.decision.pack_version) == (5000, "2026.1+2030.7")
    assert (
        book.version("water-heater", "2026.1+2030.7")
        .visit_tariff("instant_water_heater")
        .on_site.for_tier("municipality")
        == 5000
    )  # replay resolves the label to the same fee
    opened_under = {env.policyversion for env in world.memory.envelopes()}
    assert opened_under == {"2026.1"}  # the ticket keeps the version it was opened under
