"""The console's own logic, without a browser or a service: what it sends, how it reads
the services' answers, how it writes times and money."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from repairline_console import i18n
from repairline_console.board import Day, countdown, lanes, urgency
from repairline_console.followup import attempt_body
from repairline_console.intake import field_errors, request_body
from repairline_console.manager import chart

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATES = Path(i18n.__file__).parent / "templates"


def test_intake_form_becomes_the_apis_nested_body_without_empty_fields():
    form = {
        "channel": "hotline",
        "region": "cn-east",
        "customer.name": " Li Wei ",
        "customer.mobile": "",
        "product.serial_no": "SN1",
        "fault_description": "E3",
        "not_a_field": "x",
    }
    assert request_body(form) == {
        "channel": "hotline",
        "region": "cn-east",
        "customer": {"name": "Li Wei"},
        "product": {"serial_no": "SN1"},
        "fault_description": "E3",
    }


def test_a_422_is_read_as_one_error_per_field():
    answer = {
        "error": "validation_failed",
        "errors": [
            {"field": "product.purchase_date", "reason": "after today"},
            {"field": "product.purchase_date", "reason": "second"},
            {"field": "city_tier", "reason": "unknown"},
        ],
    }
    assert field_errors(answer) == {"product.purchase_date": "after today", "city_tier": "unknown"}
    assert field_errors("not json") == {}


def test_dsp3_countdown_is_red_once_passed_and_amber_within_two_hours():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert urgency(None, now) == "none"
    assert urgency(now - timedelta(minutes=1), now) == "red"
    assert urgency(now + timedelta(hours=2), now) == "amber"
    assert urgency(now + timedelta(hours=2, minutes=1), now) == "green"
    assert countdown(now + timedelta(hours=1, minutes=5), now) == "1h05"
    assert countdown(now - timedelta(minutes=90), now) == "-1h30"


def test_lanes_order_an_engineers_day_with_the_gap_and_queue_the_rest():
    day = Day("cn-east", date(2026, 11, 24), SHANGHAI)

    def job(ticket: str, engineer: str | None, start: str | None, state: str = "assigned"):
        at = f"2026-11-24T{start}:00+08:00" if start else None
        end = f"2026-11-24T{int(start[:2]) + 1:02d}:00:00+08:00" if start else None
        return {
            "ticket_id": ticket,
            "engineer_id": engineer,
            "state": state,
            "appointment_start": at,
            "appointment_end": end,
        }

    engineers = [
        {"engineer_id": "e1", "region": "cn-east", "name": "A", "open_jobs": 2},
        {"engineer_id": "e9", "region": "cn-south", "name": "B", "open_jobs": 0},
    ]
    rows = [
        job("t1", "e1", "09"),
        job("t2", "e1", "11"),
        job("t3", None, None, "waiting_for_engineer"),
        job("t4", "e1", None),
    ]
    lane_list, queue = lanes(engineers, rows, day)
    assert [lane["engineer_id"] for lane in lane_list] == ["e1"]
    assert [j["ticket_id"] for j in lane_list[0]["jobs"]] == ["t1", "t2"]
    assert lane_list[0]["jobs"][1]["gap_minutes"] == 60
    assert lane_list[0]["jobs"][0]["left"] == 2 / 14 * 100
    assert [j["ticket_id"] for j in queue] == ["t3", "t4"]


def test_fbk4_answers_and_the_grade_go_only_with_a_reached_customer():
    form = {
        "reached": "yes",
        "on_time": "yes",
        "satisfied_overall": "no",
        "grade": "dissatisfied",
        "reason": " cold water ",
    }
    assert attempt_body(form) == {
        "reached": True,
        "answers": {"on_time": True, "satisfied_overall": False},
        "grade": "dissatisfied",
        "reason": "cold water",
    }
    assert attempt_body({"reached": "no", "grade": "satisfied"}) == {"reached": False}


def test_fbk7_chart_series_follow_the_reports_rows():
    rows = [
        {
            "region": "cn-east",
            "satisfied": 3,
            "average": 1,
            "dissatisfied": 1,
            "callbacks_due": 6,
            "valid_callbacks": 5,
            "complaints_filed": 2,
        },
        {
            "region": "cn-south",
            "satisfied": 0,
            "average": 0,
            "dissatisfied": 0,
            "callbacks_due": 1,
            "valid_callbacks": 0,
            "complaints_filed": 0,
        },
    ]
    drawn = chart(rows, "region")
    assert drawn["labels"] == ["cn-east", "cn-south"]
    assert drawn["grades"]["dissatisfied"] == [1, 0]
    assert drawn["due"] == [6, 1] and drawn["valid"] == [5, 0]


def test_money_is_yuan_from_integer_fen_and_times_are_the_networks():
    assert i18n.yuan(3000) == "¥30.00"
    assert i18n.yuan(123456) == "¥1,234.56"
    assert i18n.yuan(None) == "—"
    assert i18n.moment("2026-11-24T01:30:00+00:00", SHANGHAI) == "2026-11-24 09:30"
    assert i18n.moment("2026-11-24T01:30:00+00:00", SHANGHAI, time_only=True) == "09:30"


def test_both_catalogs_name_every_label_the_templates_use():
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(
            re.findall(r"(?<![\w.])t\('([a-z_.]+[a-z_])'", template.read_text(encoding="utf-8"))
        )
    for locale in i18n.LOCALES:
        assert used - set(i18n.catalog(locale)) == set(), locale
    assert set(i18n.catalog("zh")) == set(i18n.catalog("en"))
    assert i18n.translate("zh", "nav.board") == "派工看板"
    assert i18n.translate("en", "visit.some_new_state") == "some new state"
