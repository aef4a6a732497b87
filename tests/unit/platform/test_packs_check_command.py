"""`repairline packs check FILE`: exit 0 and the changes against the version in force of
the pack of the same id, or exit 1 listing every problem."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from repairline_ops.main import main

WATER = Path(str(resources.files("repairline_rules").joinpath("packs", "water-heater.toml")))
TARIFF_2026_2 = """
[[versions]]
version = "2026.2"
effective_from = 2026-12-01
open_tickets = ["fees.visit_tariff_fen"]
[versions.fees.visit_tariff_fen.instant_water_heater.on_site]
municipality = 4500
provincial_capital = 3000
prefecture_city = 2500
county_city = 2200
"""


@pytest.fixture
def changed(tmp_path: Path) -> Path:
    path = tmp_path / "water-heater.toml"
    path.write_text(WATER.read_text(encoding="utf-8") + TARIFF_2026_2, encoding="utf-8")
    return path


def test_fee_1_a_new_version_is_valid_and_its_tariff_change_is_shown(changed, capsys):
    assert main(["packs", "check", str(changed), "--on", "2026-11-30"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("pack 'water-heater' is valid (2026.1, 2026.2 from 2026-12-01)")
    assert out[1:] == [
        "against water-heater 2026.1, in force on 2026-11-30:",
        "  version 2026.2 from 2026-12-01:",
        "    fees.visit_tariff_fen.instant_water_heater.on_site.municipality: 4000 -> 4500 (FEE-1)",
        "    applies to tickets opened before it too: fees.visit_tariff_fen",
    ]


def test_against_a_configured_pack_already_holding_the_version(changed, tmp_path, capsys):
    older = tmp_path / "configured" / "water-heater.toml"
    older.parent.mkdir()
    older.write_text(changed.read_text(encoding="utf-8"), encoding="utf-8")
    assert (
        main(["packs", "check", str(changed), "--on", "2026-12-02", "--against", str(older)]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "against water-heater 2026.2 from 2026-12-01, in force on 2026-12-02:",
        "  version 2026.1:",
        "    fees.visit_tariff_fen.instant_water_heater.on_site.municipality: 4500 -> 4000 (FEE-1)",
    ]


def test_a_shipped_pack_checked_against_itself_changes_nothing(capsys):
    assert main(["packs", "check", str(WATER), "--on", "2026-09-30"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "  no changes"


def test_every_problem_is_listed_and_the_exit_is_1(tmp_path, capsys):
    bad = tmp_path / "water-heater.toml"
    text = WATER.read_text(encoding="utf-8").replace("free_km = 30", "free_km = -1")
    bad.write_text(text.replace("years = [2025, 2026]", "years = [2026]"), encoding="utf-8")
    assert main(["packs", "check", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("water-heater.toml: 2 problems")
    assert out[1].startswith("  calendar: dates outside the covered years (2026): 2025-01-01")
    assert out[2] == "  fees.distance.free_km: Input should be greater than or equal to 0 (got -1)"
