"""What the edge accepts, every consumer can apply: the events the edges produce from the
extremes they accept (the longest text, the earliest and latest dates, the largest
money and counts) are applied by every declared consumer and projection of every
service on the real PostgreSQL, none of them raising (a raise is what dead-letters).

Intake's events come from its real edge (the request models and the command, on an
in-memory store whose clock stands at NOW); dispatch's and feedback's are built at the
bounds their request models document."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from repairline_contracts.base import Decision, Event
from repairline_contracts.dispatch import (
    AppointmentScheduled,
    EngineerAssigned,
    InspectionRecorded,
    RepairCompleted,
    RepairRecord,
)
from repairline_contracts.envelope import Envelope
from repairline_contracts.feedback import ComplaintFiled
from repairline_intake.main import SPEC as INTAKE
from repairline_platform import bounds
from repairline_platform.clock import FixedClock
from repairline_platform.eventstore import Delivered
from repairline_platform.runtime import build_app
from repairline_rules import load_pack
from tests.support.auth import bearer
from tests.support.factories import request_body
from tests.support.system import spec_of, storage

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
PACK = load_pack("water-heater")
# a visit is booked at most BOOKING_HORIZON ahead and within the years whose holidays the
# pack lists (DSP-2): the later of the two edges is the last hour of the last such year
LATEST_START = min(
    NOW + bounds.BOOKING_HORIZON,
    datetime(max(PACK.calendar.years) + 1, 1, 1, tzinfo=PACK.zone) - timedelta(hours=1),
)
TODAY = NOW.date().isoformat()
NAMES = ("intake", "dispatch", "billing", "feedback")
LONG = ("维修\t" + "x" * 40 + "\n") * 200  # tabs, line breaks and CJK, cut to each maximum
DECISION = Decision(pack_id="water-heater", pack_version="1", rule_ids=("FEE-1",))


def longest(n: int, *, multi_line: bool = True) -> str:
    text = LONG if multi_line else LONG.replace("\t", " ").replace("\n", " ")
    return text[: n - 1] + "末"


def at_the_edge(latest: bool) -> dict[str, Any]:
    """A repair request at the earliest or at the latest of everything intake accepts."""
    start = LATEST_START if latest else NOW
    day = TODAY if latest else bounds.EARLIEST_PURCHASE.isoformat()
    return request_body(
        customer={
            "name": longest(100, multi_line=False),
            "mobile": "+86 139 0000 0000",
            "address": longest(2000),
            "organisation": longest(100, multi_line=False),
        },
        product={
            "line": "instant_water_heater",
            "model": "M" * 64,
            "serial_no": "S" * 63 + ("Z" if latest else "A"),
            "purchase_date": day,
        },
        fault_description=longest(2000),
        customer_wants=longest(2000),
        preferred_window={
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=60 if latest else 1)).isoformat(),
        },
        proof={
            "invoice_date": day,
            "warranty_card_date": day,
            "supply_voltage_v": "1000" if latest else "0",
        },
        guarantee={"failed_repairs": 100 if latest else 0, "submitted_for_repair_on": day},
        location={"lat": 90 if latest else -90, "lon": 180 if latest else -180},
    )


@pytest.fixture(scope="module")
async def intake_events() -> AsyncIterator[list[Event]]:
    """The events intake's edge records for the two extreme requests, on its real store."""
    async with storage(INTAKE, f"t{uuid.uuid4().hex[:10]}.") as rt:
        rt.clock = FixedClock(NOW)
        app = build_app(INTAKE)
        app.state.runtime = rt
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://intake", headers=bearer()
        ) as http:
            for latest in (False, True):
                response = await http.post("/tickets", json=at_the_edge(latest))
                assert response.status_code == 201, response.json()
        rows = await rt.pool.fetch("select envelope from events order by global_position")
        yield [Envelope.from_bytes(r["envelope"].encode()).event() for r in rows]


def downstream(ticket_id: str) -> list[Event]:
    """Dispatch's and feedback's facts about the ticket, at the bounds their edges take."""
    start = LATEST_START
    engineer = "e" * 128
    return [
        EngineerAssigned(
            ticket_id=ticket_id,
            engineer_id=engineer,
            region="cn-east",
            skill="instant_water_heater",
            open_jobs_before=bounds.MAX_CAPACITY,
            reason="nearest",
            assigned_at=NOW,
            service_point_id="s" * 128,
        ),
        AppointmentScheduled(
            ticket_id=ticket_id,
            appointment_id=f"{ticket_id}:1",
            engineer_id=engineer,
            window_start=start,
            window_end=start + timedelta(hours=1),
            confirm_by=None,
            confirmed_in_time=True,
            depart_by=start - timedelta(minutes=40),
            travel_minutes=bounds.MAX_MINUTES,
            decision=DECISION,
            scheduled_at=NOW,
        ),
        InspectionRecorded(
            ticket_id=ticket_id,
            engineer_id=engineer,
            inspected_at=NOW,
            supply_voltage_v=1000,
            wiring_to_code=False,
            misuse=True,
            unauthorised_repair=True,
            card_model="m" * 128,
            card_serial_no="s" * 128,
            warranty_card_date=bounds.EARLIEST_PURCHASE,
            invoice_date=NOW.date(),
        ),
        RepairCompleted(
            ticket_id=ticket_id,
            engineer_id=engineer,
            completed_at=NOW,  # stamped by dispatch's clock, not taken from a request
            resolution=longest(2000),
            signed_by=longest(100, multi_line=False),
            repair_record=RepairRecord(
                fault_found=longest(2000),
                parts_replaced=tuple("p" * 64 for _ in range(100)),
                notes=longest(2000),
            ),
            test_run_minutes=bounds.MAX_MINUTES,
        ),
        ComplaintFiled(
            ticket_id=ticket_id,
            complaint_id=f"C-{ticket_id}",
            channel="app",
            kind="overcharge",
            description=longest(4000),
            engineer_id=engineer,
            outlet_id="s" * 128,
            amount_paid_fen=bounds.MAX_FEN,
            answer_by=NOW + timedelta(days=1),
            triggers=("FEE-5",),
            decision=DECISION,
            filed_at=NOW,
        ),
    ]


def delivered(events: list[Event]) -> list[Delivered]:
    from tests.support.system import delivered as wrap

    return wrap(events, at=NOW, pack=PACK)


@pytest.mark.parametrize("name", NAMES)
async def test_every_consumer_applies_the_extremes_the_edges_accept(
    prefix: str, name: str, intake_events: list[Event]
) -> None:
    tickets = sorted({e.ticket_id for e in intake_events})
    events = intake_events + [e for t in tickets for e in downstream(t)]
    failures = []
    applied = 0
    async with storage(spec_of(name), prefix) as rt:
        for handler in spec_of(name).handlers(rt):
            for item in delivered(events):
                if item.envelope.type not in handler.event_types:
                    continue
                try:
                    async with rt.unit_of_work() as uow:
                        await handler.handle(uow, [item])
                    applied += 1
                except Exception as exc:  # what the consumer would dead-letter
                    failures.append(f"{handler.name} {item.envelope.type}: {exc!r}"[:500])
    assert not failures, "\n".join(failures)
    assert applied > 0
