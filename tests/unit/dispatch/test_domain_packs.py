"""The pack for what no ticket names: by the deployment's mapping, region and product line."""

from __future__ import annotations

from datetime import UTC, datetime

from repairline_dispatch.domain.packs import RegionPacks
from repairline_dispatch.domain.roster import pack_hours
from repairline_rules import load_book
from repairline_rules.routing import PackRouting, Route, RoutingSpec

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def regions() -> RegionPacks:
    """Notebooks to pc-depot; cn-north's other tickets to home-appliance; else water-heater."""
    routes = (
        Route(pack="pc-depot", product_lines=("notebook",)),
        Route(pack="home-appliance", regions=("cn-north",)),
    )
    book = load_book(["water-heater", "pc-depot", "home-appliance"])
    return RegionPacks(book, PackRouting(RoutingSpec(default="water-heater", routes=routes)))


def test_a_product_line_and_region_take_the_pack_the_mapping_gives():
    packs = regions()
    assert packs.of("cn-east", NOW, "notebook").id == "pc-depot"
    assert packs.of("cn-east", NOW, "instant_water_heater").id == "water-heater"
    assert packs.of("cn-north", NOW).id == "home-appliance"  # a region's own route
    assert packs.of("cn-east", NOW).id == "water-heater"  # routes by product line pass over
    assert packs.of(None, NOW).id == "water-heater"


def test_dsp_1_an_engineer_works_the_hours_of_the_pack_his_lines_go_to():
    packs = regions()
    pc, heater = (packs.book.versions(p)[0] for p in ("pc-depot", "water-heater"))
    assert packs.hours("cn-east", {"notebook"}, NOW) == pack_hours(pc)
    assert packs.hours("cn-east", {"instant_water_heater"}, NOW) == pack_hours(heater)
    # lines of several packs: the region's pack
    both = {"notebook", "instant_water_heater"}
    assert packs.of_engineer("cn-east", both, NOW).id == "water-heater"
    assert packs.of_engineer("cn-north", both, NOW).id == "home-appliance"
