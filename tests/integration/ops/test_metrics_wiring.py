"""`GET /metrics` of a real service reports what its moving parts did: the event store's
appends, the outbox and timer backlog on the service clock, each consumer's batches,
outcomes and dead letters, and the relay's publications."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from itertools import count

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from repairline_contracts.topics import INTAKE_EVENTS
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_platform.runtime import Runtime, build_app
from repairline_platform.settings import ServiceSettings
from tests.support.factories import repair_requested
from tests.support.infra import KAFKA, PG, drop_database, envelope_bytes, eventually, produce

CONSUMER = "dispatch.assignment"  # dispatch's reaction to intake's RepairRequested (DSP-1)
CLOCK_DATE = date(2026, 12, 6)  # the service clock's day: 25 or 26 days of 2026 left


@pytest.fixture
async def dispatch_app(prefix: str) -> AsyncIterator[FastAPI]:
    database = f"{prefix.rstrip('.')}_dispatch"
    settings = ServiceSettings(
        kafka_bootstrap=KAFKA,
        pg_dsn=PG,
        topic_prefix=prefix,
        database=database,
        clock="simulated",
        clock_date=CLOCK_DATE,
        batch_timeout_ms=50,
        batch_max_records=10,
    )
    try:
        yield build_app(DISPATCH, settings)
    finally:
        await drop_database(database)


async def scrape(app: FastAPI) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of `/metrics`: (name, sorted labels) -> value."""
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dispatch") as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_appends_outbox_age_and_overdue_timers_are_reported_on_the_service_clock(
    dispatch_app: FastAPI,
) -> None:
    rt: Runtime = dispatch_app.state.runtime
    await rt.open_storage()  # no relay and no timer poller: the backlog stays
    try:
        async with rt.unit_of_work() as uow:
            for _ in range(3):
                event = repair_requested()
                await uow.append(
                    event.ticket_id, [event], correlation_id="c-1", causation_id="test"
                )
            await uow.schedule(
                f"timer-{uuid.uuid4()}",
                kind="metrics-test",
                stream_id=event.ticket_id,
                due_at=rt.clock.now() + timedelta(minutes=10),
                payload={},
                correlation_id="c-1",
            )
        before = await scrape(dispatch_app)
        await rt.advance_clock(timedelta(hours=1))
        after = await scrape(dispatch_app)
    finally:
        await rt.pool.close()

    assert value(before, "repairline_events_appended_total") == 3
    assert value(before, "repairline_outbox_unpublished_events") == 3
    assert value(before, "repairline_timers_pending") == 1
    assert value(before, "repairline_timers_overdue") == 0
    assert value(before, "repairline_timer_oldest_overdue_seconds") == 0
    assert value(after, "repairline_outbox_oldest_unpublished_age_seconds") >= 3600
    assert value(after, "repairline_timers_overdue") == 1
    assert 50 * 60 <= value(after, "repairline_timer_oldest_overdue_seconds") < 3600


async def test_batches_outcomes_dead_letters_and_publications_are_counted(
    prefix: str, dispatch_app: FastAPI
) -> None:
    rt: Runtime = dispatch_app.state.runtime
    await rt.start()
    try:
        requests = [repair_requested() for _ in range(4)]
        await produce(
            prefix + INTAKE_EVENTS,
            [(e.ticket_id.encode(), envelope_bytes(e)) for e in requests]
            + [(b"poison", b"not a cloudevent")],
        )

        async def settled() -> dict | None:
            samples = await scrape(dispatch_app)
            applied = value(
                samples, "repairline_consumer_events_total", consumer=CONSUMER, outcome="applied"
            )
            dead = value(samples, "repairline_dead_letters_total", consumer=CONSUMER)
            drained = value(samples, "repairline_outbox_unpublished_events") == 0
            return samples if applied == 4 and dead == 1 and drained else None

        samples = await eventually(settled, timeout=90)
    finally:
        await rt.stop()

    assert value(samples, "repairline_consumer_batch_records_sum", consumer=CONSUMER) >= 5
    assert value(samples, "repairline_consumer_batch_seconds_count", consumer=CONSUMER) >= 1
    assert (
        value(samples, "repairline_consumer_events_total", consumer=CONSUMER, outcome="dead") == 1
    )
    appended = value(samples, "repairline_events_appended_total")
    assert appended >= 4  # the reaction's answer to each request
    assert value(samples, "repairline_events_published_total") == appended
    assert value(samples, "repairline_outbox_oldest_unpublished_age_seconds") == 0


async def test_each_packs_days_of_known_holidays_left_are_reported(
    dispatch_app: FastAPI,
) -> None:
    """Working-time counts that reach a year whose holidays a pack does not list are
    refused: the days left before that are a gauge per pack, on the service clock."""
    rt: Runtime = dispatch_app.state.runtime
    await rt.open_storage()
    try:
        samples = await scrape(dispatch_app)
        reported = {
            dict(labels)["pack"]: v
            for (name, labels), v in samples.items()
            if name == "repairline_pack_calendar_days_left"
        }
        assert set(reported) == set(rt.packs.ids()) and reported
        for pack_id, days in reported.items():
            pack = rt.packs.opened_at(pack_id, rt.clock.now())
            today = rt.clock.now().astimezone(pack.zone).date()
            assert today in (CLOCK_DATE, CLOCK_DATE + timedelta(days=1))  # the hour decides
            missing = next(y for y in count(today.year) if y not in pack.calendar.years)
            assert days == (date(missing, 1, 1) - today).days
            assert days < 30 if missing == 2027 else days >= 30
    finally:
        await rt.pool.close()
