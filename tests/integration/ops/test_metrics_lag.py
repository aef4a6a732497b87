"""`GET /metrics` on a real service: the lag of a consumer group rises with a backlog
produced while the service is down and falls back to 0 once it has consumed it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from repairline_contracts.topics import INTAKE_EVENTS
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_platform.runtime import Runtime, build_app
from repairline_platform.settings import ServiceSettings
from tests.support.factories import repair_requested
from tests.support.system import KAFKA, PG, drop_database, envelope_bytes, eventually, produce

CONSUMER = "dispatch.assignment"  # dispatch's reaction to intake's RepairRequested


@pytest.fixture
async def dispatch_app(prefix: str) -> AsyncIterator[FastAPI]:
    database = f"{prefix.rstrip('.')}_dispatch"
    settings = ServiceSettings(
        kafka_bootstrap=KAFKA,
        pg_dsn=PG,
        topic_prefix=prefix,
        database=database,
        clock="simulated",
        batch_timeout_ms=50,
        batch_max_records=10,
    )
    app = build_app(DISPATCH, settings)  # the runtime installs GET /metrics
    try:
        yield app
    finally:
        await drop_database(database)


async def scrape(app: FastAPI) -> dict[str, Any]:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dispatch") as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(answer.text)}


async def lag(app: FastAPI, topic: str) -> float:
    family = (await scrape(app))["repairline_consumer_lag"]
    values = [
        s.value
        for s in family.samples
        if s.labels["consumer"] == CONSUMER and s.labels["topic"] == topic
    ]
    assert len(values) == 6, "one sample per partition of the topic"
    return sum(values)


async def backlog(topic: str, n: int) -> None:
    messages = []
    for _ in range(n):
        event = repair_requested()
        messages.append((event.ticket_id.encode(), envelope_bytes(event)))
    await produce(topic, messages)


async def test_the_lag_metric_rises_with_a_backlog_and_returns_to_zero(
    prefix: str, dispatch_app: FastAPI
) -> None:
    rt: Runtime = dispatch_app.state.runtime
    topic = prefix + INTAKE_EVENTS
    await rt.open_storage()  # the database, as a stopped service leaves it: no consumer runs
    try:
        assert await lag(dispatch_app, topic) == 0
        await backlog(topic, 15)
        assert await lag(dispatch_app, topic) == 15
        await backlog(topic, 25)
        assert await lag(dispatch_app, topic) == 40
    finally:
        await rt.pool.close()

    await rt.start()  # the service comes up and works the backlog off
    try:

        async def caught_up() -> bool:
            return await lag(dispatch_app, topic) == 0

        await eventually(caught_up, timeout=60)
        families = await scrape(dispatch_app)
    finally:
        await rt.stop()
    for name in (
        "repairline_outbox_unpublished_events",
        "repairline_outbox_oldest_unpublished_age_seconds",
        "repairline_timers_pending",
        "repairline_timer_oldest_overdue_seconds",
        "repairline_db_pool_connections_in_use",
        "repairline_http_requests",
    ):
        assert families[name].samples, name
    routes = {s.labels["route"] for s in families["repairline_http_requests"].samples}
    assert "/metrics" in routes
    assert not any(s.value for s in families["repairline_metrics_scrape_errors"].samples)
