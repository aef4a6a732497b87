"""A quote never prices on facts older than its caller was told: the engineer names the
ticket's intake version from intake's answer (the warranty decided at inspection) and
billing answers 409 "not caught up, retry" until it has seen that version.

Billing runs as a process on the real Kafka and PostgreSQL; intake's events are produced
onto its topic with the stream versions intake would give them.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from repairline_contracts.base import Decision, Event
from repairline_contracts.envelope import wrap
from repairline_contracts.intake import ServiceMode, WarrantyDecided
from repairline_contracts.topics import INTAKE_EVENTS
from repairline_rules import load_pack
from tests.support.factories import repair_requested
from tests.support.system import System, produce

PACK = "water-heater"
AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


async def send_versioned(prefix: str, event: Event, version: int, cause: str = "test") -> None:
    envelope = wrap(
        event,
        event_id=str(uuid.uuid4()),
        source="/intake",
        time=AT,
        region="cn-east",
        policy_pack=PACK,
        policy_version=load_pack(PACK).version,  # the version the ticket was opened under
        correlation_id=str(uuid.uuid4()),
        causation_id=cause,
        stream_version=version,
    )
    await produce(prefix + INTAKE_EVENTS, [(event.ticket_id.encode(), envelope.to_bytes())])


def voltage_exclusion(ticket_id: str) -> WarrantyDecided:
    """WAR-4: 250 V measured at inspection: the repair is chargeable."""
    return WarrantyDecided(
        ticket_id=ticket_id,
        unit_in_warranty=False,
        free_visit=False,
        chargeable=True,
        reason="chargeable repair: supply_voltage",
        decided_at=AT,
        decision=Decision(pack_id=PACK, pack_version="1", rule_ids=("WAR-1", "WAR-4")),
        product_line="instant_water_heater",
        service_mode=ServiceMode.ON_SITE,
        exclusions=("supply_voltage",),
    )


async def quote_when_caught_up(service, ticket_id: str, version: int, **body) -> dict:
    for _ in range(600):
        status, answer = service.request(
            "POST", f"/tickets/{ticket_id}/quotes", {"ticket_version": version, **body}
        )
        if status == 201:
            return answer
        assert status == 409 and answer["error"] == "not_caught_up", answer
        await asyncio.sleep(0.1)
    raise AssertionError("billing never caught up")


async def test_war_4_a_quote_after_the_inspections_warranty_is_priced_on_it_not_the_old(prefix):
    system = System(prefix, PACK, ("billing",)).start()
    service = system.billing
    try:
        bought = system.now().date() - timedelta(days=30)  # in warranty on billing's clock
        requested = repair_requested(purchase_date=bought)
        await send_versioned(prefix, requested, 1)
        first = await quote_when_caught_up(service, requested.ticket_id, 1)
        assert first["total_fen"] == 0  # in warranty by the invoice date billing knows

        # intake answered version 2 (the inspection's WAR-4); billing has not seen it yet
        status, early = service.request(
            "POST", f"/tickets/{requested.ticket_id}/quotes", {"ticket_version": 2}
        )
        assert status == 409 and early["error"] == "not_caught_up"
        assert early["current_state"] == "not_caught_up" and early["retry_after"] >= 1

        await send_versioned(prefix, voltage_exclusion(requested.ticket_id), 2)
        quote = await quote_when_caught_up(service, requested.ticket_id, 2)
        assert quote["total_fen"] == 3000  # FEE-1: provincial capital, on site
        assert "WAR-4" in quote["decision"]["rule_ids"]
    finally:
        system.stop()
        await system.drop()


async def test_war_4_fee_4_a_quote_after_an_inspection_waits_for_intakes_decision_on_it(prefix):
    """The phone names the inspection the quote follows (its event id on dispatch): billing
    answers 409 until it holds intake's warranty decision caused by that inspection, then
    prices on it, however far behind intake's reaction to the inspection is."""
    system = System(prefix, PACK, ("billing",)).start()
    service = system.billing
    try:
        bought = system.now().date() - timedelta(days=30)
        requested = repair_requested(purchase_date=bought)
        ticket_id = requested.ticket_id
        await send_versioned(prefix, requested, 1)
        await quote_when_caught_up(service, ticket_id, 1)  # billing has the ticket

        inspection = f"ev-inspection-{uuid.uuid4()}"
        status, early = service.request(
            "POST", f"/tickets/{ticket_id}/quotes", {"after_inspection": inspection}
        )
        assert status == 409 and early["error"] == "not_caught_up", early
        assert inspection in early["detail"]

        await send_versioned(prefix, voltage_exclusion(ticket_id), 2, cause=inspection)
        quote = await quote_when_caught_up(service, ticket_id, 1, after_inspection=inspection)
        assert quote["total_fen"] == 3000  # FEE-1 on WAR-4's exclusion, not the warranty
        assert "WAR-4" in quote["decision"]["rule_ids"]
    finally:
        system.stop()
        await system.drop()
