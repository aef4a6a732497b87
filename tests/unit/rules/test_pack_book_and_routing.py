"""Pack versions with effective dates, the book of a deployment's packs, and the mapping
that decides a new ticket's pack."""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest

from repairline_rules.packs import PackError, UnknownPack, load_book, load_pack_versions
from repairline_rules.routing import load_deployment, load_routing

BUILTIN = resources.files("repairline_rules").joinpath("packs", "water-heater.toml").read_text()


def pack_file(tmp_path: Path, later: str) -> Path:
    path = tmp_path / "water-heater.toml"
    path.write_text(BUILTIN + "\n" + later, "utf-8")
    return path


TARIFF_CHANGE = """
[[versions]]
version = "2026.12"
effective_from = 2026-12-01

[versions.fees.visit_tariff_fen.instant_water_heater.on_site]
municipality = 4600

[[versions]]
version = "2027.1"
effective_from = 2027-01-01
open_tickets = ["fees.visit_tariff_fen"]

[versions.fees.visit_tariff_fen.instant_water_heater.on_site]
municipality = 5000

[versions.followup]
max_attempts = 3
"""


def fee(pack) -> int:
    return pack.visit_tariff("instant_water_heater").on_site.municipality


def test_fee_1_a_later_version_lists_only_what_changes(tmp_path):
    first, second, third = load_pack_versions(pack_file(tmp_path, TARIFF_CHANGE))
    assert (first.version, second.version, third.version) == ("2026.1", "2026.12", "2027.1")
    assert (fee(first), fee(second), fee(third)) == (4000, 4600, 5000)
    # the rest of the tier table and of the pack is the version before
    assert second.visit_tariff("instant_water_heater").on_site.county_city == 2200
    assert second.fees.parts == first.fees.parts and second.calendar == first.calendar
    assert third.followup.max_attempts == 3 and second.followup == first.followup
    assert (second.effective_from, third.open_tickets) == (
        date(2026, 12, 1),
        ("fees.visit_tariff_fen",),
    )


def test_fee_1_a_ticket_keeps_the_version_in_force_when_it_was_opened(tmp_path):
    book = load_book([pack_file(tmp_path, TARIFF_CHANGE)])
    assert book.in_force("water-heater", date(2026, 11, 30)).version == "2026.1"
    assert book.in_force("water-heater", date(2026, 12, 1)).version == "2026.12"
    # the day boundary is the pack's: 1 December 00:30 in Shanghai is 30 November in UTC
    opened = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    assert book.opened_at("water-heater", opened).version == "2026.12"
    # opened under 2026.1, decided in mid-December: still 2026.1's fee
    later = datetime(2026, 12, 15, 4, tzinfo=UTC)
    assert fee(book.for_ticket("water-heater", "2026.1", later)) == 4000


def test_fee_1_an_open_tickets_section_applies_from_its_date_and_is_named(tmp_path):
    book = load_book([pack_file(tmp_path, TARIFF_CHANGE)])
    january = datetime(2027, 1, 2, 4, tzinfo=UTC)
    pack = book.for_ticket("water-heater", "2026.1", january)
    assert pack.version == "2026.1+2027.1" and fee(pack) == 5000
    # only the named section: the callback attempts stay the ticket's version's
    assert (
        pack.followup.max_attempts == book.version("water-heater", "2026.1").followup.max_attempts
    )
    # the composed label resolves again to the same numbers (replay, years later)
    assert book.version("water-heater", "2026.1+2027.1") == pack
    assert book.for_ticket("water-heater", "2026.1+2027.1", january) == pack


def test_an_unknown_pack_or_version_is_refused_naming_what_is_loaded(tmp_path):
    book = load_book([pack_file(tmp_path, TARIFF_CHANGE)])
    with pytest.raises(UnknownPack, match=r"no policy pack 'pc-depot'.*water-heater"):
        book.versions("pc-depot")
    with pytest.raises(UnknownPack, match=r"no version '2025\.9'.*2026\.1, 2026\.12, 2027\.1"):
        book.version("water-heater", "2025.9")


@pytest.mark.parametrize(
    ("later", "field", "problem"),
    [
        ('[[versions]]\nversion = "2026.2"\n', "versions.0.effective_from", "field required"),
        (
            '[[versions]]\nversion = "2026.2"\neffective_from = 2026-05-01\n'
            '[[versions]]\nversion = "2026.3"\neffective_from = 2026-04-01\n',
            "versions.1.effective_from",
            "must be after 2026-05-01",
        ),
        (
            '[[versions]]\nversion = "2026.1"\neffective_from = 2026-05-01\n',
            "versions.0.version",
            "repeated",
        ),
        (
            '[[versions]]\nversion = "2026.2"\neffective_from = 2026-05-01\nname = "x"\n',
            "versions.0.name",
            "same for every version",
        ),
        (
            '[[versions]]\nversion = "2026.2"\neffective_from = 2026-05-01\n'
            'open_tickets = ["tariffs"]\n',
            "versions.0.open_tickets.0",
            "",
        ),
        (
            '[[versions]]\nversion = "2026.2"\neffective_from = 2026-05-01\n'
            "[versions.fees.visit_tariff_fen.instant_water_heater]\non_site = -1\n",
            "versions.0.fees.visit_tariff_fen.instant_water_heater.on_site",
            "",
        ),
    ],
)
def test_a_bad_version_is_refused_naming_the_field(tmp_path, later, field, problem):
    with pytest.raises(PackError) as caught:
        load_pack_versions(pack_file(tmp_path, later))
    assert any(f.startswith(field) and problem in p for _, f, p in caught.value.problems), (
        caught.value.problems
    )


ROUTES = """
default = "water-heater"

[[routes]]
pack = "pc-depot"
brands = ["Lenovo"]

[[routes]]
pack = "office-equipment"
contracts = ["KA-7"]
regions = ["cn-north"]
"""


def test_the_mapping_routes_by_brand_contract_and_region_first_match_wins(tmp_path):
    path = tmp_path / "routing.toml"
    path.write_text(ROUTES, "utf-8")
    book, routing = load_deployment("water-heater", ["pc-depot", "office-equipment"], path)
    assert set(book.ids()) == {"water-heater", "pc-depot", "office-equipment"}
    choose = routing.choose
    assert choose(product_line="notebook", region="cn-east", brand=" lenovo ") == "pc-depot"
    assert choose(product_line="copier", region="cn-north", contract="KA-7") == "office-equipment"
    assert choose(product_line="copier", region="cn-east", contract="KA-7") == "water-heater"
    assert choose(product_line="instant_water_heater", region="cn-east") == "water-heater"


def test_a_mapping_naming_an_unloaded_pack_or_an_unknown_line_stops_the_start(tmp_path):
    path = tmp_path / "routing.toml"
    path.write_text(
        'default = "water-heater"\n[[routes]]\npack = "pc-depot"\n'
        '[[routes]]\npack = "water-heater"\nproduct_lines = ["laptop"]\nregions = ["mars"]\n',
        "utf-8",
    )
    book = load_book(["water-heater"])
    with pytest.raises(PackError) as caught:
        load_routing(path, book, default="water-heater", known_regions=["cn-east"])
    problems = {(f, p.split(" (")[0]) for _, f, p in caught.value.problems}
    assert ("routes.0.pack", "pack 'pc-depot' is not loaded") in problems
    assert ("routes.1.product_lines", "pack 'water-heater' 2026.1 has no terms for 'laptop'") in (
        problems
    )
    assert ("routes.1.regions", "unknown region 'mars'") in problems


def test_a_file_replaces_the_built_in_pack_of_its_id(tmp_path):
    book, routing = load_deployment(
        "water-heater", [str(pack_file(tmp_path, TARIFF_CHANGE)), "pc-depot"]
    )
    assert [v.version for v in book.versions("water-heater")] == ["2026.1", "2026.12", "2027.1"]
    assert routing.default == "water-heater" and routing.packs() == ("water-heater",)
