"""A new ticket's pack is the one the deployment's mapping routes it to, in the version in
force when it is opened; its events and decisions name that pack and version, and later
commands on it decide with it. In-memory event store, fake store, real packs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from repairline_contracts.intake import (
    DuplicateReported,
    Product,
    RepairRequested,
    WarrantyDecided,
)
from repairline_intake import commands
from repairline_intake.commands import Intake
from repairline_intake.domain import ticket
from repairline_platform.clock import FixedClock
from repairline_platform.policy import current_policy
from repairline_platform.testing import InMemoryEventStore
from repairline_rules import load_deployment
from repairline_rules.packs import PackBook, PolicyPack
from repairline_rules.refusals import IllegalTransition, InvalidInput
from repairline_rules.routing import PackRouting
from tests.unit.intake.fakes import FakeStore
from tests.unit.intake.test_commands import new_request

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Tuesday
MAPPING = """
default = "water-heater"

[[routes]]
pack = "pc-depot"
brands = ["Lenovo"]

[[routes]]
pack = "pc-depot"
product_lines = ["laptop"]

[[routes]]
pack = "pc-depot"
contracts = ["KA-9"]
"""
# A later water-heater version: from 1 December 2026 (Shanghai) the whole unit is under
# warranty, and visited free, for 24 months instead of 12.
LATER_VERSION = """
[[versions]]
version = "2026.2"
effective_from = 2026-12-01

[versions.warranty.products.instant_water_heater]
unit_months = 24
free_on_site_months = 24
"""
DECEMBER = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 December 00:00 in Shanghai


@dataclass
class Deployment:
    """What the runtime gives intake: every pack, the mapping, and the pack deciding a
    command at its `now` (the bound ticket's, else the default's), as `Runtime.pack_now`."""

    packs: PackBook
    routing: PackRouting

    def pack_now(self, now: datetime) -> PolicyPack:
        policy = current_policy()
        if policy is not None:
            return self.packs.for_ticket(policy.pack, policy.version, now)
        return self.packs.opened_at(self.routing.default, now)


class Network:
    """Intake of a deployment running water-heater and pc-depot tickets side by side."""

    def __init__(self, tmp_path: Path, *, mapping: str = MAPPING, water_heater: str = "") -> None:
        routing = tmp_path / "routing.toml"
        routing.write_text(mapping)
        packs = ["pc-depot", "water-heater"]
        if water_heater:
            path = tmp_path / "water-heater.toml"
            path.write_text(_builtin_text("water-heater") + water_heater)
            packs = ["pc-depot", str(path)]
        self.clock = FixedClock(NOW)
        self.events = InMemoryEventStore(self.clock)
        deployment = Deployment(*load_deployment("water-heater", packs, routing))
        self.intake = Intake(
            self.events.unit_of_work,
            deployment.pack_now,
            store=FakeStore(self.events),
            opening=partial(ticket.opening_pack, deployment.packs, deployment.routing),
        )

    async def open(self, **kw: Any) -> str:
        return (await commands.request_repair(new_request(**kw), self.intake)).stream_id

    def envelopes(self, stream_id: str) -> list[Any]:
        return self.events.streams[stream_id]

    def named(self, stream_id: str) -> set[tuple[str, str]]:
        """The (pack, version) pairs a ticket's events are stamped with."""
        return {(e.policypack, e.policyversion) for e in self.envelopes(stream_id)}

    def last(self, stream_id: str, kind: type) -> Any:
        return [e for e in self.events.events(stream_id) if isinstance(e, kind)][-1]


def _builtin_text(pack_id: str) -> str:
    return resources.files("repairline_rules").joinpath("packs", f"{pack_id}.toml").read_text()


INVOICED = ticket.ProofFacts(invoice_date=date(2026, 10, 1))


async def test_a_brand_a_product_line_and_a_key_account_route_tickets_to_pc_depot(tmp_path):
    net = Network(tmp_path)
    by_brand = await net.open(product=Product(line="notebook", brand="lenovo"), proof=INVOICED)
    by_line = await net.open(product=Product(line="laptop"), proof=INVOICED)
    by_contract = await net.open(key_account_id="KA-9", proof=INVOICED)
    heater = await net.open(proof=INVOICED)
    for stream_id in (by_brand, by_line, by_contract):
        assert net.named(stream_id) == {("pc-depot", "2026.1")}
    assert net.named(heater) == {("water-heater", "2026.1")}


async def test_int_5_war_1_the_requests_triage_and_warranty_name_the_routed_pack(tmp_path):
    net = Network(tmp_path)
    laptop = await net.open(product=Product(line="laptop"), proof=INVOICED)
    heater = await net.open(proof=INVOICED)
    for stream_id, pack_id in ((laptop, "pc-depot"), (heater, "water-heater")):
        requested = net.last(stream_id, RepairRequested)
        decided = net.last(stream_id, WarrantyDecided)
        assert requested.triage.decision.pack_id == pack_id
        assert decided.decision.pack_id == pack_id
        assert decided.decision.pack_version == "2026.1"


async def test_war_3_a_later_warranty_decision_is_made_with_the_tickets_own_pack(tmp_path):
    net = Network(tmp_path)
    laptop = await net.open(product=Product(line="laptop"))
    shown = ticket.DecideWarranty(laptop, INVOICED, frozenset({"invoice_date"}))
    await commands.decide_warranty(shown, net.intake)
    decided = net.last(laptop, WarrantyDecided)
    assert decided.decision.pack_id == "pc-depot"  # not the deployment's default
    assert net.named(laptop) == {("pc-depot", "2026.1")}


async def test_a_duplicate_is_noted_under_the_open_tickets_pack_whatever_the_new_route(tmp_path):
    net = Network(tmp_path)
    product = Product(line="instant_water_heater", serial_no="SN-KA")
    opened = await net.open(product=product, key_account_id="KA-9")
    with pytest.raises(IllegalTransition):
        await net.open(product=product)  # no key account: would route to water-heater
    duplicate = net.envelopes(opened)[-1]
    assert duplicate.type == DuplicateReported.event_type
    assert (duplicate.policypack, duplicate.policyversion) == ("pc-depot", "2026.1")


async def test_war_1_a_line_unknown_to_the_routed_pack_names_the_field_the_pack_and_its_lines(
    tmp_path,
):
    net = Network(tmp_path, mapping='default = "water-heater"\n')
    with pytest.raises(InvalidInput) as refused:
        await net.open(product=Product(line="laptop"))
    assert refused.value.field == "product.line"
    assert "'water-heater'" in str(refused.value)
    assert "instant_water_heater" in str(refused.value)
    assert net.events.streams == {}


async def test_war_1_a_ticket_opened_from_a_later_versions_date_is_decided_by_it(tmp_path):
    net = Network(tmp_path, water_heater=LATER_VERSION)
    bought = ticket.ProofFacts(invoice_date=date(2025, 6, 1))  # 18 months before December
    net.clock.advance(DECEMBER - timedelta(minutes=1) - NOW)  # 23:59 on 30 November
    november = await net.open(proof=bought)
    net.clock.advance(timedelta(minutes=1))
    december = await net.open(proof=bought)
    assert net.named(november) == {("water-heater", "2026.1")}
    assert net.named(december) == {("water-heater", "2026.2")}
    old, new = net.last(november, WarrantyDecided), net.last(december, WarrantyDecided)
    assert (old.decision.pack_version, old.chargeable) == ("2026.1", True)
    assert (new.decision.pack_version, new.chargeable) == ("2026.2", False)


async def test_war_1_a_ticket_keeps_its_opening_version_after_a_later_one_takes_effect(tmp_path):
    net = Network(tmp_path, water_heater=LATER_VERSION)
    november = await net.open()
    net.clock.advance(DECEMBER + timedelta(days=2) - NOW)
    bought = ticket.ProofFacts(invoice_date=date(2025, 6, 1))
    await commands.decide_warranty(
        ticket.DecideWarranty(november, bought, frozenset({"invoice_date"})), net.intake
    )
    decided = net.last(november, WarrantyDecided)
    assert (decided.decision.pack_version, decided.chargeable) == ("2026.1", True)
    assert net.named(november) == {("water-heater", "2026.1")}
