"""Billing's invoices on the real PostgreSQL when facts race: two completions of one unit
spending one WAR-11 free repair at once, and a completion parked before its request
whose warranty decision (INT-5's paid visit) arrives in the same or a later batch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from repairline_billing.main import SPEC as BILLING
from repairline_contracts.base import Decision, Event
from repairline_contracts.dispatch import InspectionRecorded, RepairCompleted
from repairline_contracts.envelope import Envelope
from repairline_contracts.feedback import ExtensionRewardGranted
from repairline_contracts.intake import (
    RepairRequested,
    ServiceMode,
    TicketClosed,
    WarrantyDecided,
)
from repairline_contracts.topics import DISPATCH_EVENTS, FEEDBACK_EVENTS, INTAKE_EVENTS
from repairline_platform.eventstore import Delivered
from repairline_platform.runtime import Runtime
from repairline_platform.settings import ServiceSettings
from repairline_platform.timers import TimerPoller
from repairline_rules.warranty import INSPECTION_DECISION_WAIT
from tests.support.factories import repair_requested
from tests.support.infra import KAFKA, PG, drop_database, envelope_bytes

AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DECIDED = Decision(pack_id="water-heater", pack_version="1", rule_ids=("INT-5",))


class Feed:
    """Delivers events to billing's handlers as its consumers would, one batch per unit of
    work, each record at the next offset of its topic's partition 0."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.offsets: dict[str, int] = {}

    def delivered(
        self, event: Event, topic: str, event_id: str | None = None, cause: str = "test"
    ) -> Delivered:
        envelope = Envelope.from_bytes(envelope_bytes(event, event_id=event_id, causation_id=cause))
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        return Delivered(envelope, envelope.event(), topic, 0, offset)

    async def batch(self, handler: str, events: Sequence[tuple[Any, ...]]) -> None:
        """Each item: (event, topic), with its envelope's event id and causation id when
        they matter (`Feed.delivered`)."""
        items = [self.delivered(*event) for event in events]
        async with self.rt.unit_of_work() as uow:
            await _handler(self.rt, handler).handle(uow, items)


def _handler(rt: Runtime, name: str) -> object:
    return next(h for h in rt.handlers if h.name == name)


@pytest.fixture
async def billing(prefix: str) -> AsyncIterator[Runtime]:
    database = f"{prefix.rstrip('.')}_billing"
    rt = Runtime(
        BILLING,
        ServiceSettings(
            kafka_bootstrap=KAFKA,
            pg_dsn=PG,
            topic_prefix=prefix,
            database=database,
            clock="simulated",
        ),
    )
    await rt.open_storage()  # the handlers on the database only: no broker needed
    try:
        yield rt
    finally:
        await rt.pool.close()
        await drop_database(database)


def requested(serial_no: str | None = None, bought: date = date(2015, 5, 1)) -> RepairRequested:
    request = repair_requested(purchase_date=bought)
    product = request.product.model_copy(
        update={"serial_no": serial_no or request.product.serial_no}
    )
    return request.model_copy(update={"product": product})


def completed(ticket_id: str) -> RepairCompleted:
    return RepairCompleted(
        ticket_id=ticket_id, engineer_id="eng-1", completed_at=AT, resolution="fixed"
    )


def paid_visit(ticket_id: str) -> WarrantyDecided:
    return WarrantyDecided(
        ticket_id=ticket_id,
        unit_in_warranty=True,
        free_visit=False,
        chargeable=True,
        reason="INT-5: misuse: the visit is paid",
        decided_at=AT,
        decision=DECIDED,
        product_line="instant_water_heater",
        service_mode=ServiceMode.ON_SITE,
    )


async def charge_lines(rt: Runtime, ticket_id: str) -> list[dict[str, object]] | None:
    lines = await rt.pool.fetchval("select lines from charges where ticket_id = $1", ticket_id)
    return None if lines is None else json.loads(lines)


async def test_war_11_one_free_repair_is_spent_once_by_concurrent_completions(billing: Runtime):
    feed = Feed(billing)
    serial = "SN-REWARD-1"
    tickets = [requested(serial) for _ in range(4)]
    await feed.batch("charging", [(t, INTAKE_EVENTS) for t in tickets])
    reward = ExtensionRewardGranted(
        ticket_id=tickets[0].ticket_id,
        serial_no=serial,
        reward="free_repair",
        extended_ends_on=None,
        reason="a constructive survey answer",
        decision=DECIDED,
        granted_at=AT,
    )
    await feed.batch("rewards", [(reward, FEEDBACK_EVENTS)])

    await asyncio.gather(
        *(feed.batch("charging", [(completed(t.ticket_id), DISPATCH_EVENTS)]) for t in tickets)
    )

    invoices = [await charge_lines(billing, t.ticket_id) for t in tickets]
    assert all(lines is not None for lines in invoices)
    free = [lines for lines in invoices if any(x["rule_id"] == "WAR-11" for x in lines or ())]
    assert len(free) == 1


@pytest.mark.parametrize(
    "arrival",
    [
        "decision-with-request",
        "decision-in-next-batch",
        "completion-last",
        "completion-between-request-and-decision",
        "before-requests-said-so:decision-with-request",
        "before-requests-said-so:decision-in-next-batch",
    ],
)
async def test_int_5_a_parked_completion_is_charged_with_the_warranty_decision(
    billing: Runtime, arrival: str
):
    """The same invoice whatever the order: the paid visit intake decided is charged.
    Requests say that a decision follows them; older ones, which do not, are charged once
    the record after the request on its partition is applied."""
    feed = Feed(billing)
    legacy, _, order = arrival.rpartition(":")
    request = requested(bought=date(2026, 1, 10))  # in warranty by its purchase date
    if not legacy:
        request = request.model_copy(update={"warranty_decision_follows": True})
    ticket_id = request.ticket_id
    done, decision = (completed(ticket_id), DISPATCH_EVENTS), (paid_visit(ticket_id), INTAKE_EVENTS)
    asked = (request, INTAKE_EVENTS)
    batches = {
        "decision-with-request": [[done], [asked, decision]],
        "decision-in-next-batch": [[done], [asked], [decision]],
        "completion-last": [[asked], [decision], [done]],
        "completion-between-request-and-decision": [[asked], [done], [decision]],
    }[order]

    for batch in batches:
        await feed.batch("charging", batch)

    lines = await charge_lines(billing, ticket_id)
    assert lines is not None
    [visit] = [x for x in lines if x["code"] == "visit"]
    assert visit["amount_fen"] > 0


@pytest.mark.parametrize(
    "arrival", ["decision-in-the-batch", "decision-later", "closed-instead", "wait-over"]
)
async def test_war_4_a_completion_after_an_inspection_is_charged_on_intakes_decision_on_it(
    billing: Runtime, arrival: str
):
    """The engineer measured 250 V at the unit (WAR-4) and completed the repair; intake's
    decision on the inspection (the visit paid) reaches billing after dispatch's
    completion. The completion waits for it and is charged on it, never on the warranty
    billing held before. If intake closes the ticket instead (it then decides nothing on
    an inspection), or no decision comes within `INSPECTION_DECISION_WAIT` (intake down),
    the completion is charged on what billing holds."""
    feed = Feed(billing)
    request = requested(bought=date(2026, 1, 10)).model_copy(  # in warranty by its date
        update={"warranty_decision_follows": False}
    )
    ticket_id = request.ticket_id
    inspection_id = f"ev-inspection-{ticket_id}"
    inspected = InspectionRecorded(
        ticket_id=ticket_id,
        engineer_id="eng-1",
        inspected_at=billing.clock.now(),
        supply_voltage_v=250.0,
    )
    decision = (paid_visit(ticket_id), INTAKE_EVENTS, None, inspection_id)
    await feed.batch("charging", [(request, INTAKE_EVENTS)])
    visit = [(inspected, DISPATCH_EVENTS, inspection_id), (completed(ticket_id), DISPATCH_EVENTS)]
    if arrival == "decision-in-the-batch":
        await feed.batch("charging", [visit[0], decision, visit[1]])
    else:
        await feed.batch("charging", visit)
        assert await charge_lines(billing, ticket_id) is None  # parked: the decision is due
        closed = TicketClosed(ticket_id=ticket_id, reason="exchanged", closed_at=AT)
        if arrival == "wait-over":
            timers = TimerPoller(
                billing.unit_of_work, billing.clock, billing.spec.timer_handlers(billing)
            )
            billing.clock.advance(INSPECTION_DECISION_WAIT - timedelta(seconds=1))
            await timers.fire_due()
            assert await charge_lines(billing, ticket_id) is None  # still waiting
            billing.clock.advance(timedelta(seconds=1))
            await timers.fire_due()
        else:
            later = decision if arrival == "decision-later" else (closed, INTAKE_EVENTS)
            await feed.batch("charging", [later])

    lines = await charge_lines(billing, ticket_id)
    assert lines is not None
    [charged] = [x for x in lines if x["code"] == "visit"]
    if arrival in ("closed-instead", "wait-over"):
        assert charged["amount_fen"] == 0  # no decision came: the warranty billing held
    else:
        assert charged["amount_fen"] > 0  # INT-5, WAR-4: the paid visit intake decided
