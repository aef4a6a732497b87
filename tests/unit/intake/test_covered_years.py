"""DSP-2 and the pack's covered years: intake refuses a preferred window in a year whose
holidays the ticket's pack does not list, rather than accept what no consumer can book."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from repairline_contracts.intake import TimeWindow
from repairline_intake.domain import ticket
from repairline_platform.http import install_error_handlers
from repairline_rules import load_pack
from repairline_rules.calendar import HolidaysNotPublished
from repairline_rules.refusals import InvalidInput

PACK = load_pack("water-heater")
SH = ZoneInfo("Asia/Shanghai")


def window(start: datetime) -> TimeWindow:
    return TimeWindow(start=start, end=start + timedelta(hours=1))


def test_dsp_2_a_window_in_a_covered_year_is_accepted():
    ticket.check_window_covered(PACK, window(datetime(2026, 12, 31, 22, 30, tzinfo=SH)))
    ticket.check_window_covered(PACK, None)


def test_dsp_2_a_window_reaching_a_year_without_published_holidays_is_refused():
    with pytest.raises(InvalidInput) as refused:
        ticket.check_window_covered(PACK, window(datetime(2026, 12, 31, 23, 30, tzinfo=SH)))
    assert refused.value.field == "preferred_window"
    assert "covers 2025, 2026" in refused.value.reason and "2027" in refused.value.reason


def test_a_count_past_the_covered_years_answers_422_naming_the_pack_and_year():
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/deadline")
    async def deadline() -> None:
        raise HolidaysNotPublished("water-heater", 2027, (2025, 2026))

    response = TestClient(app).get("/deadline")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "holidays_not_published"
    assert (body["pack_id"], body["year"], body["covered_years"]) == (
        "water-heater",
        2027,
        [2025, 2026],
    )


def test_dsp_2_a_window_ending_at_midnight_new_year_stays_in_its_year():
    ticket.check_window_covered(PACK, window(datetime(2026, 12, 31, 23, 0, tzinfo=SH)))
