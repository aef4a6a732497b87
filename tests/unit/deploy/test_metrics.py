"""Service metrics on a real prometheus_client registry; state probes over hand-written fakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from repairline_platform import metrics
from repairline_platform.metrics import Consumer, ServiceMetrics, StateProbe, lag_per_partition

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def sample(m: ServiceMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


@dataclass
class Batch:
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0
    dead: int = 0


def test_a_batch_counts_its_records_time_and_outcomes() -> None:
    m = ServiceMetrics()
    m.observe_batch("billing.visits", 7, 0.03, Batch(applied=4, duplicates=1, ignored=1, dead=1))
    m.observe_batch("billing.visits", 3, 0.5, Batch(applied=3))
    assert sample(m, "repairline_consumer_batch_records_count", consumer="billing.visits") == 2
    assert sample(m, "repairline_consumer_batch_records_sum", consumer="billing.visits") == 10
    assert sample(m, "repairline_consumer_batch_seconds_sum", consumer="billing.visits") == 0.53
    applied = sample(
        m, "repairline_consumer_events_total", consumer="billing.visits", outcome="applied"
    )
    assert applied == 7
    dup = sample(
        m, "repairline_consumer_events_total", consumer="billing.visits", outcome="duplicate"
    )
    assert dup == 1


def test_appended_published_and_dead_letters_are_counters() -> None:
    m = ServiceMetrics()
    m.appended(3)
    m.published(2)
    m.dead_lettered("feedback.repairs", 2)
    assert sample(m, "repairline_events_appended_total") == 3
    assert sample(m, "repairline_events_published_total") == 2
    assert sample(m, "repairline_dead_letters_total", consumer="feedback.repairs") == 2


def test_two_services_in_one_process_have_their_own_registries() -> None:
    a, b = ServiceMetrics(), ServiceMetrics()
    a.appended(1)
    assert sample(b, "repairline_events_appended_total") == 0


def test_lag_is_end_minus_the_stored_next_offset() -> None:
    ends = {("t", 0): (0, 10), ("t", 1): (0, 4), ("t", 2): (0, 0)}
    assert lag_per_partition(ends, {("t", 0): 7, ("t", 1): 4}) == {
        ("t", 0): 3,
        ("t", 1): 0,
        ("t", 2): 0,
    }


def test_a_partition_never_consumed_lags_by_all_it_still_holds() -> None:
    # records before the beginning offset were deleted: they are not lag
    assert lag_per_partition({("t", 0): (5, 12)}, {}) == {("t", 0): 7}
    assert lag_per_partition({("t", 0): (5, 12)}, {("t", 0): 2}) == {("t", 0): 7}


class FakePool:
    """The asyncpg pool calls the probe makes, answering canned rows."""

    def __init__(self, offsets: dict[str, list[dict[str, Any]]], fail: str = "") -> None:
        self.offsets = offsets
        self.fail = fail

    def get_size(self) -> int:
        return 4

    def get_idle_size(self) -> int:
        return 1

    def get_max_size(self) -> int:
        return 10

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any]:
        if "from events" in sql:
            if self.fail == "outbox":
                raise OSError("connection lost")
            return {"n": 2, "oldest": NOW - timedelta(seconds=90)}
        assert args == (NOW,)
        return {"pending": 5, "overdue": 2, "oldest_due": NOW - timedelta(minutes=10)}

    async def fetch(self, sql: str, consumer: str) -> list[dict[str, Any]]:
        return self.offsets.get(consumer, [])


async def fake_ends(topics: Any) -> dict[tuple[str, int], tuple[int, int]]:
    return {(t, p): (0, 10) for t in topics for p in (0, 1)}


def probe(pool: Any, m: ServiceMetrics) -> StateProbe:
    return StateProbe(
        m,
        pool=lambda: pool,
        now=lambda: NOW,
        consumers=lambda: [Consumer("dispatch.requests", ("p.repairline.intake.events",))],
        log_ends=fake_ends,
    )


async def test_the_probe_reads_lag_outbox_timers_and_pool_at_scrape_time() -> None:
    m = ServiceMetrics()
    stored = {
        "dispatch.requests": [
            {"topic": "p.repairline.intake.events", "partition": 0, "next_offset": 10}
        ]
    }
    await probe(FakePool(stored), m).refresh()
    lag = "repairline_consumer_lag"
    topic = "p.repairline.intake.events"
    assert sample(m, lag, consumer="dispatch.requests", topic=topic, partition="0") == 0
    assert sample(m, lag, consumer="dispatch.requests", topic=topic, partition="1") == 10
    assert sample(m, "repairline_outbox_unpublished_events") == 2
    assert sample(m, "repairline_outbox_oldest_unpublished_age_seconds") == 90
    assert sample(m, "repairline_timers_pending") == 5
    assert sample(m, "repairline_timers_overdue") == 2
    assert sample(m, "repairline_timer_oldest_overdue_seconds") == 600
    assert sample(m, "repairline_db_pool_connections_in_use") == 3


async def test_one_unreadable_source_is_counted_and_the_others_still_read() -> None:
    m = ServiceMetrics()
    await probe(FakePool({}, fail="outbox"), m).refresh()
    assert sample(m, "repairline_metrics_scrape_errors_total", source="outbox") == 1
    assert sample(m, "repairline_timers_pending") == 5


async def test_before_the_runtime_starts_only_the_counters_answer() -> None:
    m = ServiceMetrics()
    await probe(None, m).refresh()
    assert sample(m, "repairline_timers_pending") == 0


def app_with_metrics() -> tuple[FastAPI, ServiceMetrics]:
    class Runtime:  # what install reads of a service Runtime before it starts
        name = "intake"
        handlers = ()

        class settings:
            kafka_bootstrap = "127.0.0.1:1"

    app = FastAPI()

    @app.get("/tickets/{ticket_id}")
    async def ticket(ticket_id: str) -> dict[str, str]:
        return {"ticket_id": ticket_id}

    return app, metrics.install(app, Runtime())


async def test_http_requests_are_counted_by_route_template_and_status() -> None:
    app, m = app_with_metrics()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as http:
        assert (await http.get("/tickets/a1")).status_code == 200
        assert (await http.get("/tickets/b2")).status_code == 200
        assert (await http.get("/nowhere")).status_code == 404
        scraped = await http.get("/metrics")
    assert scraped.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
    counted = {
        (s.labels["route"], s.labels["status"]): s.value
        for s in families["repairline_http_requests"].samples
        if s.name.endswith("_total")
    }
    assert counted[("/tickets/{ticket_id}", "200")] == 2
    assert counted[("unmatched", "404")] == 1
    assert (
        sample(
            m, "repairline_http_request_seconds_count", method="GET", route="/tickets/{ticket_id}"
        )
        == 2
    )
    assert "process_cpu_seconds_total" in scraped.text


async def test_dead_letters_are_counted_per_consumer_once_published() -> None:
    m = ServiceMetrics()
    sent: list[object] = []

    async def publish(letters: Any) -> None:
        sent.extend(letters)

    @dataclass
    class Letter:
        consumer: str

    count = metrics.counting_dead_letters(publish, m)
    await count([Letter("billing.charging"), Letter("billing.charging"), Letter("billing.trips")])
    assert len(sent) == 3
    assert sample(m, "repairline_dead_letters_total", consumer="billing.charging") == 2
    assert sample(m, "repairline_dead_letters_total", consumer="billing.trips") == 1
