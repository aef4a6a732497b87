"""The engineer's phone groups his open jobs by the local day of their windows."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from repairline_console.engineer import day_groups

SHANGHAI = ZoneInfo("Asia/Shanghai")


def job(ticket: str, start: str) -> dict[str, object]:
    return {"ticket_id": ticket, "starts_at": start}


def test_jobs_are_grouped_earlier_today_later_by_the_windows_local_day():
    jobs = [
        job("later", "2026-10-09T01:00:00+00:00"),
        # 23:30 UTC on the 7th is 07:30 on the 8th in Shanghai: today's, not yesterday's
        job("today-early", "2026-10-07T23:30:00+00:00"),
        job("earlier", "2026-10-07T02:00:00+00:00"),
        job("today-late", datetime(2026, 10, 8, 16, 0, tzinfo=SHANGHAI)),
    ]
    marked = day_groups(jobs, date(2026, 10, 8), SHANGHAI)
    assert [(j["ticket_id"], j["day_group"], j["first"]) for j in marked] == [
        ("earlier", "earlier", True),
        ("today-early", "today", True),
        ("today-late", "today", False),
        ("later", "later", True),
    ]


def test_no_jobs_no_groups():
    assert day_groups([], date(2026, 10, 8), SHANGHAI) == []
