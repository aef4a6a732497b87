"""The generated JSON Schema of a pack file accepts the shipped packs and a later version
written as a change, refuses what the models refuse, and is the file in docs/schemas."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from repairline_rules.packs import BUILTIN_PACKS, read_pack_file
from repairline_rules.packschema import default_path, main, rendered, schema

VALIDATOR = Draft202012Validator(schema())


def as_json(data: Any) -> Any:
    """TOML data as JSON would carry it (dates as ISO text)."""
    return json.loads(json.dumps(data, default=date.isoformat))


def errors(data: dict[str, Any]) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(as_json(data))]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(schema())


@pytest.mark.parametrize("pack_id", BUILTIN_PACKS)
def test_every_shipped_pack_is_valid_against_the_schema(pack_id):
    _, data = read_pack_file(pack_id)
    assert errors(data) == []


def test_fee_1_a_later_version_gives_only_what_changes():
    _, data = read_pack_file("water-heater")
    data["versions"] = [
        {
            "version": "2026.2",
            "effective_from": date(2026, 11, 1),
            "open_tickets": ["fees.visit_tariff_fen"],
            "fees": {"visit_tariff_fen": {"instant_water_heater": {"on_site": 4500}}},
        }
    ]
    assert errors(data) == []


def test_a_version_without_its_date_or_with_an_unknown_field_is_invalid():
    _, data = read_pack_file("water-heater")
    data["versions"] = [{"version": "2026.2", "fees": {"tariff": 1}}]
    found = " ".join(errors(data))
    assert "'effective_from' is a required property" in found
    assert "'tariff' was unexpected" in found


def test_a_negative_tariff_and_a_calendar_without_covered_years_are_invalid():
    _, data = read_pack_file("water-heater")
    data["fees"]["visit_tariff_fen"]["fast_heat_faucet"]["depot"] = -1
    del data["calendar"]["years"]
    found = " ".join(errors(data))
    assert "'years' is a required property" in found
    assert "-1" in found


def test_the_schema_file_is_the_generated_one(tmp_path):
    assert default_path().read_text(encoding="utf-8") == rendered()
    stale = tmp_path / "pack.json"
    stale.write_text("{}")
    assert main(["--check", "--output", str(stale)]) == 1
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0
