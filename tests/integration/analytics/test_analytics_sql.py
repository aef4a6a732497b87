"""The SQL in docs/analytics.md, run against the DuckDB file of an exported history, gives
the figures computed here by hand from the same events."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from repairline_contracts import billing as b
from repairline_contracts import dispatch as d
from repairline_contracts import feedback as f
from repairline_contracts import intake as i
from repairline_contracts.base import Event
from repairline_ops.duck import write_database
from repairline_ops.sample import CST
from tests.integration.analytics.conftest import PublishedHistory
from tests.support.system import ROOT


def doc_queries() -> dict[str, str]:
    text = (ROOT / "docs" / "analytics.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    return {re.match(r"-- name: (\w+)", q).group(1): q for q in blocks}  # type: ignore[union-attr]


def week(moment: datetime) -> date:
    day = moment.astimezone(CST).date()
    return day - timedelta(days=day.weekday())


@dataclass
class Ticket:
    region: str
    visit_by: datetime | None = None
    assigned_at: datetime | None = None
    moved: tuple[int, datetime] | None = None
    arrived_at: datetime | None = None
    completed_at: datetime | None = None
    called_back_at: datetime | None = None

    @property
    def deadline(self) -> datetime | None:
        return self.moved[1] if self.moved else self.visit_by


def tickets(events: list[Event]) -> dict[str, Ticket]:
    life = {e.ticket_id: Ticket(e.region) for e in events if isinstance(e, i.RepairRequested)}
    for e in events:
        t = life.get(e.ticket_id)
        if t is None:
            continue
        if isinstance(e, d.EngineerAssigned) and (
            t.assigned_at is None or e.assigned_at > t.assigned_at
        ):
            t.assigned_at, t.visit_by = e.assigned_at, e.visit_by
        elif isinstance(e, d.SlaDeadlinesRecomputed) and e.visit_by is not None:
            if t.moved is None or e.version > t.moved[0]:
                t.moved = (e.version, e.visit_by)
        elif isinstance(e, d.ArrivedOnSite):
            t.arrived_at = min(filter(None, (t.arrived_at, e.arrived_at)))
        elif isinstance(e, d.RepairCompleted):
            t.completed_at = max(filter(None, (t.completed_at, e.completed_at)))
        elif isinstance(e, f.CallbackCompleted):
            t.called_back_at = min(filter(None, (t.called_back_at, e.completed_at)))
    return life


def on_time_visits(events: list[Event]) -> list[tuple[Any, ...]]:
    due: dict[tuple[str, date], list[bool]] = defaultdict(list)
    for t in tickets(events).values():
        if t.deadline is not None:
            on_time = t.arrived_at is not None and t.arrived_at <= t.deadline
            due[(t.region, week(t.deadline))].append(on_time)
    return [(r, w, len(v), sum(v)) for (r, w), v in sorted(due.items())]


def fees(events: list[Event]) -> list[tuple[Any, ...]]:
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in events:
        if isinstance(e, b.ChargeAssessed):
            groups[(e.inputs.product_line, e.inputs.city_tier)].append(e.total_fen)
    return [(line, tier, len(v), sum(v)) for (line, tier), v in sorted(groups.items())]


def callback_coverage(events: list[Event]) -> list[tuple[Any, ...]]:
    served: dict[date, list[bool]] = defaultdict(list)
    for t in tickets(events).values():
        if t.completed_at is not None:
            served[week(t.completed_at)].append(t.called_back_at is not None)
    return [(w, len(v), sum(v)) for w, v in sorted(served.items())]


def complaints_and_fines(events: list[Event]) -> list[tuple[Any, ...]]:
    voided = {e.penalty_id for e in events if isinstance(e, b.PenaltyVoided)}
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in events:
        if isinstance(e, f.ComplaintFiled) and e.outlet_id:
            rows[e.outlet_id][0] += 1
        if isinstance(e, b.PenaltyAssessed) and e.subject == "outlet" and e.outlet_id:
            row = rows[e.outlet_id]
            row[1] += 1
            row[2] += e.fine_fen
            row[3] += 0 if e.penalty_id in voided else e.fine_fen
    return [(outlet, *row) for outlet, row in sorted(rows.items())]


def fines_voided(events: list[Event]) -> list[tuple[Any, ...]]:
    voided = {e.penalty_id for e in events if isinstance(e, b.PenaltyVoided)}
    rows: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for e in events:
        if isinstance(e, b.PenaltyAssessed) and e.penalty_id in voided:
            rows[e.outlet_id][0] += 1
            rows[e.outlet_id][1] += e.fine_fen
    return [(outlet, *row) for outlet, row in sorted(rows.items())]


@pytest.fixture(scope="module")
def database(exported: Path) -> duckdb.DuckDBPyConnection:
    path = exported / "repairline.duckdb"
    views = write_database(path, exported, hashed=True)
    assert "tickets" in views and "billing_charge_assessed" in views
    return duckdb.connect(str(path), read_only=True)


@pytest.fixture(scope="module")
def events(history: PublishedHistory) -> list[Event]:
    return [e.event() for e in history.events]


def run(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[Any, ...]]:
    return con.execute(doc_queries()[name]).fetchall()


def test_the_doc_has_the_five_queries() -> None:
    assert set(doc_queries()) == {
        "on_time_visits",
        "fees_by_line_and_tier",
        "callback_coverage",
        "complaints_and_fines",
        "fines_voided",
    }


def test_dsp3_on_time_visits_per_region_and_week(database: Any, events: list[Event]) -> None:
    rows = run(database, "on_time_visits")
    assert [r[:4] for r in rows] == on_time_visits(events)
    assert len(rows) > 10 and any(r[3] < r[2] for r in rows)  # some visits were late
    for _, _, due, on_time, pct in rows:
        assert float(pct) == pytest.approx(100 * on_time / due, abs=0.05)


def test_fee1_average_fee_per_product_line_and_city_tier(
    database: Any, events: list[Event]
) -> None:
    rows = run(database, "fees_by_line_and_tier")
    assert [r[:4] for r in rows] == fees(events)
    assert len(rows) == 12  # three lines by four tiers
    for _, _, charges, total, average_yuan in rows:
        assert float(average_yuan) == pytest.approx(total / charges / 100, abs=0.005)


def test_fbk2_callback_coverage_per_week(database: Any, events: list[Event]) -> None:
    rows = run(database, "callback_coverage")
    assert [r[:3] for r in rows] == callback_coverage(events)
    for _, served, called, pct in rows:
        assert float(pct) == pytest.approx(100 * called / served, abs=0.05)


def test_complaints_and_fines_per_outlet(database: Any, events: list[Event]) -> None:
    rows = run(database, "complaints_and_fines")
    assert rows == complaints_and_fines(events)
    assert any(r[3] > r[4] for r in rows)  # a voided fine no longer counts


def test_fines_voided_on_appeal(database: Any, events: list[Event]) -> None:
    rows = run(database, "fines_voided")
    assert rows == fines_voided(events)
    assert sum(r[1] for r in rows) > 5


def test_the_tickets_view_has_one_row_per_request_with_durations(
    database: Any, events: list[Event]
) -> None:
    expected = tickets(events)
    rows = database.execute(
        "select ticket_id, minutes_to_arrive, arrived_on_time from tickets"
    ).fetchall()
    assert len(rows) == len(expected)
    for ticket_id, minutes, on_time in rows:
        t = expected[ticket_id]
        if t.arrived_at is None:
            assert minutes is None and on_time is None
            continue
        requested = next(
            e.requested_at
            for e in events
            if isinstance(e, i.RepairRequested) and e.ticket_id == ticket_id
        )
        assert minutes == pytest.approx((t.arrived_at - requested).total_seconds() / 60)
        assert on_time == (t.arrived_at <= t.deadline)
