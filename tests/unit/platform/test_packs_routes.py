"""`GET /packs` and `GET /packs/{pack_id}` on every service: the packs and versions it
runs, and one version whole (or the sections the service answers), every value with its
rule id. The apps are built in-process and their packs loaded without the lifespan
(nothing connects); the service clock is a fixed one the test chooses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repairline_billing.main import SPEC as BILLING
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_feedback.main import SPEC as FEEDBACK
from repairline_intake.main import SPEC as INTAKE
from repairline_platform.access import USER_ROLES
from repairline_platform.runtime import build_app
from repairline_platform.settings import ServiceSettings
from repairline_rules.packs import BUILTIN_PACKS
from repairline_rules.packview import SECTIONS
from tests.support.auth import bearer, token

NOW = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
LATER_VERSION = """
[[versions]]
version = "2026.2"
effective_from = 2026-11-01
open_tickets = ["fees.visit_tariff_fen"]
[versions.fees.visit_tariff_fen.instant_water_heater]
depot = 1000
[versions.fees.visit_tariff_fen.instant_water_heater.on_site]
municipality = 4500
provincial_capital = 3000
prefecture_city = 2500
county_city = 2200
"""


class FixedClock:
    simulated = True

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def client(spec, settings=None) -> TestClient:
    app = build_app(spec, settings)
    rt = app.state.runtime
    rt.load_policy()
    rt.clock = FixedClock(NOW)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def intake() -> TestClient:
    return client(INTAKE)


def get(http: TestClient, path: str, role: str = "customer"):
    return http.get(path, headers=bearer(token(role)))


def test_every_signed_in_role_reads_the_list_of_packs_and_versions(intake) -> None:
    for role in sorted(USER_ROLES):
        answer = get(intake, "/packs", role)
        assert answer.status_code == 200, (role, answer.text)
    body = answer.json()
    assert body["default"] == "water-heater"
    assert [p["id"] for p in body["packs"]] == list(ServiceSettings().policy_packs)
    water = next(p for p in body["packs"] if p["id"] == "water-heater")
    assert water["default"] is True and water["timezone"] == "Asia/Shanghai"
    assert water["covered_years"] == [2025, 2026]
    assert water["versions"] == [
        {
            "version": "2026.1",
            "effective_from": None,
            "open_tickets": [],
            "covered_years": [2025, 2026],
            "in_force": True,
        }
    ]


def test_without_a_token_the_packs_are_not_answered(intake) -> None:
    assert intake.get("/packs").status_code == 401


def test_fee_1_water_heater_shows_4000_fen_on_site_in_a_municipality(intake) -> None:
    answer = get(intake, "/packs/water-heater")
    assert answer.status_code == 200
    pack = answer.json()
    assert pack["version"] == "2026.1" and pack["timezone"] == "Asia/Shanghai"
    tariff = pack["fees"]["visit_tariff_fen"]["instant_water_heater"]
    assert tariff["on_site"]["municipality"] == {"value": 4000, "rule": "FEE-1"}
    calendar = pack["calendar"]
    assert calendar["business_hours"]["mon"]["value"] == [
        {"start": "08:30", "end": "12:00"},
        {"start": "13:30", "end": "17:30"},
    ]
    assert "2026-10-01" in calendar["holidays"]["value"]
    assert "2026-09-20" in calendar["makeup_workdays"]["value"]
    assert calendar["covered_years"]["value"] == [2025, 2026]


def test_dsp_3_each_window_says_whether_it_counts_clock_or_working_time(intake) -> None:
    water = get(intake, "/packs/water-heater").json()
    assert water["dispatch"]["response"]["visit"] == {
        "value": {"amount": 48, "unit": "hours", "counts": "clock_time"},
        "rule": "DSP-3",
    }
    assert water["followup"]["complaint_answer"] == {
        "value": {"amount": 3, "unit": "working_days", "counts": "working_time"},
        "rule": "FBK-6",
    }


@pytest.mark.parametrize("pack_id", BUILTIN_PACKS)
def test_intake_answers_every_section_of_every_pack(intake, pack_id) -> None:
    pack = get(intake, f"/packs/{pack_id}").json()
    assert pack["sections"] == [
        "calendar",
        "warranty",
        "fees",
        "dispatch",
        "penalties",
        "followup",
        "assessment",
    ]
    assert "WAR-1" in pack["warranty"]["rules"] and "PEN-8" in pack["assessment"]["rules"]


@pytest.mark.parametrize(
    ("spec", "sections"),
    [
        (DISPATCH, ["calendar", "dispatch"]),
        (BILLING, ["warranty", "fees", "penalties", "assessment"]),
        (FEEDBACK, ["calendar", "followup"]),
    ],
)
def test_each_service_answers_the_sections_it_uses(spec, sections) -> None:
    http = client(spec)
    pack = get(http, "/packs/water-heater").json()
    assert pack["sections"] == sections
    assert [key for key in pack if key in SECTIONS] == sections  # the others are left out
    assert get(http, "/packs").json()["sections"] == sections


def test_an_unknown_pack_or_version_is_a_404_naming_what_is_known(intake) -> None:
    missing = get(intake, "/packs/coffee-machine")
    assert missing.status_code == 404
    assert "water-heater" in missing.json()["detail"]
    unknown = get(intake, "/packs/water-heater?version=2019.1")
    assert unknown.status_code == 404
    assert "2026.1" in unknown.json()["detail"]


def test_version_and_on_together_are_a_422(intake) -> None:
    answer = get(intake, "/packs/water-heater?version=2026.1&on=2026-09-30")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "on"


def test_fee_1_a_later_version_is_answered_from_its_date_or_by_its_label(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[3] / "libs/rules/src/repairline_rules/packs"
    changed = tmp_path / "water-heater.toml"
    changed.write_text((source / "water-heater.toml").read_text() + LATER_VERSION)
    settings = ServiceSettings(policy_packs=(str(changed), "pc-depot"))
    http = client(INTAKE, settings)

    def on_site(query: str) -> int:
        pack = get(http, f"/packs/water-heater{query}").json()
        return pack["fees"]["visit_tariff_fen"]["instant_water_heater"]["on_site"]["municipality"][
            "value"
        ]

    assert on_site("") == 4000  # the service clock is on 30 September
    assert on_site("?on=2026-10-31") == 4000
    assert on_site("?on=2026-11-01") == 4500
    assert on_site("?version=2026.2") == 4500
    assert on_site("?version=2026.1%2B2026.2") == 4500
    listed = get(http, "/packs").json()["packs"]
    water = next(p for p in listed if p["id"] == "water-heater")
    assert [(v["version"], v["effective_from"], v["in_force"]) for v in water["versions"]] == [
        ("2026.1", None, True),
        ("2026.2", "2026-11-01", False),
    ]
