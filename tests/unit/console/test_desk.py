"""The view helpers of the agent's, the dispatcher's and the manager's desks."""

from __future__ import annotations

from datetime import UTC, date, datetime

from repairline_console.backend import Answer
from repairline_console.board import ALERT_ORDER, alerts_by_kind, services_now
from repairline_console.intake import open_ones, search_params
from repairline_console.manager import month_days, outlets_chart, visits_chart


def alert(kind: str, n: int) -> dict[str, str]:
    return {"kind": kind, "ticket_id": f"t{n}", "at": f"2026-06-18T0{n}:00:00+00:00"}


def test_alerts_are_grouped_by_kind_sla_first_newest_first_within_a_kind():
    alerts = [
        alert("customer_not_found", 9),
        alert("sla_approaching", 8),
        alert("engineer_delayed", 7),
        alert("sla_breached", 6),
        alert("sla_approaching", 5),
    ]
    groups = alerts_by_kind(alerts)
    assert [g["kind"] for g in groups] == [
        "sla_breached",
        "sla_approaching",
        "engineer_delayed",
        "customer_not_found",
    ]
    assert [a["ticket_id"] for a in groups[1]["alerts"]] == ["t8", "t5"]
    assert groups[1]["count"] == 2


def test_a_kind_shows_its_newest_few_and_counts_them_all():
    [group] = alerts_by_kind([alert("missed_appointment", n) for n in range(9)], per_kind=3)
    assert group["count"] == 9 and len(group["alerts"]) == 3
    assert {"customer_not_found", "engineer_delayed", "lateness_notice_due"} <= set(ALERT_ORDER)


def test_countdowns_run_on_the_services_clock_else_on_the_consoles():
    simulated = Answer(200, {"now": "2030-06-04T01:00:00+00:00", "simulated": True})
    assert services_now(simulated) == datetime(2030, 6, 4, 1, tzinfo=UTC)
    before = datetime.now(UTC)
    assert services_now(Answer(403, {"error": "forbidden"})) >= before


def test_only_open_tickets_make_a_new_request_a_duplicate():
    tickets = [
        {"ticket_id": "a", "status": "engineer_assigned"},
        {"ticket_id": "b", "status": "closed"},
        {"ticket_id": "c", "status": "repair_completed"},
        {"ticket_id": "d", "status": "requested"},
    ]
    assert [t["ticket_id"] for t in open_ones(tickets)] == ["a", "d"]


def test_a_search_asks_intake_by_number_phone_or_serial_only():
    assert search_params("phone", " 139 0000 0000 ") == {"phone": "139 0000 0000"}
    assert search_params("serial", "SN-1") == {"serial": "SN-1"}
    assert search_params("number", "SR20260618000001") == {"number": "SR20260618000001"}
    assert search_params("address", "x") is None
    assert search_params("phone", "  ") is None


def test_a_month_runs_from_its_first_to_its_last_day():
    assert month_days("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_days("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))


def test_visits_chart_stacks_on_time_and_late_per_region_and_week():
    weeks = [
        {
            "region": "cn-east",
            "week": "2026-06-15",
            "visits": 5,
            "on_time": 3,
            "missed": 1,
            "sla_breaches": 2,
        },
        {"region": "cn-north", "week": "2026-06-15", "visits": 0, "on_time": 0, "missed": 0},
    ]
    drawn = visits_chart(weeks)
    assert drawn["labels"] == ["cn-east 06-15", "cn-north 06-15"]
    assert drawn["on_time"] == [3, 0] and drawn["late"] == [2, 0]
    assert drawn["sla_breaches"] == [2, 0] and drawn["missed"] == [1, 0]


def test_outlets_chart_counts_complaints_and_the_months_standing_fines_in_fen():
    rows = [{"outlet": "op-1", "complaints_filed": 2}, {"outlet": "op-2", "complaints_filed": 0}]
    penalties = [
        {"outlet_id": "op-1", "fine_fen": 20000, "offence_at": "2026-06-03T02:00:00+00:00"},
        {"outlet_id": "op-3", "fine_fen": 5000, "offence_at": "2026-06-30T02:00:00+00:00"},
        {"outlet_id": "op-1", "fine_fen": 9900, "offence_at": "2026-05-30T02:00:00+00:00"},
        {
            "outlet_id": "op-1",
            "fine_fen": 100,
            "offence_at": "2026-06-04T02:00:00+00:00",
            "status": "voided",
        },
    ]
    drawn = outlets_chart(rows, penalties, "2026-06")
    assert drawn["labels"] == ["op-1", "op-2", "op-3"]
    assert drawn["complaints"] == [2, 0, 0]
    assert drawn["fines_fen"] == [20000, 0, 5000]
