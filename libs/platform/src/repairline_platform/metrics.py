"""Prometheus metrics of one service: `GET /metrics`, HTTP timings, and what the log shows.

Counters and histograms are fed by small calls from the moving parts (the inbox
consumer's `observe_batch`, the event store's `appended`, the relay's `published`, the
dead-letter publisher's `dead_lettered`). The state gauges (consumer lag per group and
partition, outbox age, timer backlog, pool usage) are read at scrape time from the
service's own database and Kafka, so they are right even after a restart.

Each `ServiceMetrics` has its own registry: several services in one test process never
share or double-register a metric.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from repairline_platform.logging import get_logger

log = get_logger(__name__)

BATCH_SIZES = (1, 5, 10, 25, 50, 100, 250, 500, 1000)
HANDLER_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
HTTP_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
UNMATCHED_ROUTE = "unmatched"

PartitionKey = tuple[str, int]


class BatchCounts(Protocol):
    """What a consumer batch came to (the platform's BatchResult fits)."""

    applied: int
    duplicates: int
    ignored: int
    dead: int


class ServiceMetrics:
    """Every metric of one service, in a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.batch_records = Histogram(
            "repairline_consumer_batch_records",
            "Records per consumed batch.",
            ["consumer"],
            buckets=BATCH_SIZES,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "repairline_consumer_batch_seconds",
            "Time to apply one batch (handler and its transaction).",
            ["consumer"],
            buckets=HANDLER_SECONDS,
            registry=r,
        )
        self.consumed = Counter(
            "repairline_consumer_events",
            "Consumed records by outcome (applied, duplicate, ignored, dead).",
            ["consumer", "outcome"],
            registry=r,
        )
        self.dead_letters = Counter(
            "repairline_dead_letters",
            "Messages sent to the dead-letter topic, per consumer.",
            ["consumer"],
            registry=r,
        )
        self.events_appended = Counter(
            "repairline_events_appended", "Events appended to the event store.", registry=r
        )
        self.events_published = Counter(
            "repairline_events_published", "Events the outbox relay published.", registry=r
        )
        self.http_requests = Counter(
            "repairline_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "repairline_http_request_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=HTTP_SECONDS,
            registry=r,
        )
        self.lag = Gauge(
            "repairline_consumer_lag",
            "Records on the topic not yet applied by the consumer (end offset - stored offset).",
            ["consumer", "topic", "partition"],
            registry=r,
        )
        self.outbox_unpublished = Gauge(
            "repairline_outbox_unpublished_events", "Appended events not yet published.", registry=r
        )
        self.outbox_age = Gauge(
            "repairline_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished event on the service clock (0 when none).",
            registry=r,
        )
        self.timers_pending = Gauge(
            "repairline_timers_pending", "Timers not fired yet.", registry=r
        )
        self.timers_overdue = Gauge(
            "repairline_timers_overdue",
            "Timers due on the service clock but not fired.",
            registry=r,
        )
        self.timer_overdue_seconds = Gauge(
            "repairline_timer_oldest_overdue_seconds",
            "How long the oldest overdue timer has been due (0 when none).",
            registry=r,
        )
        self.pool_size = Gauge(
            "repairline_db_pool_connections", "Open connections in the pool.", registry=r
        )
        self.pool_in_use = Gauge(
            "repairline_db_pool_connections_in_use", "Connections lent out.", registry=r
        )
        self.pool_max = Gauge(
            "repairline_db_pool_connections_max", "Most connections the pool opens.", registry=r
        )
        self.calendar_days_left = Gauge(
            "repairline_pack_calendar_days_left",
            "Days from the service's today to the first day whose public holidays the pack"
            " in force does not list: working-time counts (SLA, complaint clocks) reaching"
            " it are refused until the pack lists that year. Alert well before 0.",
            ["pack"],
            registry=r,
        )
        self.scrape_errors = Counter(
            "repairline_metrics_scrape_errors",
            "State gauges that could not be read at a scrape, by source.",
            ["source"],
            registry=r,
        )
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)

    # -- what the moving parts call ----------------------------------------------------

    def observe_batch(
        self, consumer: str, records: int, seconds: float, result: BatchCounts | None = None
    ) -> None:
        """One consumed batch: its size, how long it took and what became of its records."""
        self.batch_records.labels(consumer).observe(records)
        self.batch_seconds.labels(consumer).observe(seconds)
        if result is None:
            return
        for outcome, n in (
            ("applied", result.applied),
            ("duplicate", result.duplicates),
            ("ignored", result.ignored),
            ("dead", result.dead),
        ):
            if n:
                self.consumed.labels(consumer, outcome).inc(n)

    def appended(self, n: int) -> None:
        self.events_appended.inc(n)

    def published(self, n: int) -> None:
        self.events_published.inc(n)

    def dead_lettered(self, consumer: str, n: int = 1) -> None:
        self.dead_letters.labels(consumer).inc(n)

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_seconds.labels(method, route).observe(seconds)

    # -- state read at scrape time -----------------------------------------------------

    def set_lag(self, consumer: str, lags: Mapping[PartitionKey, int]) -> None:
        for (topic, partition), lag in lags.items():
            self.lag.labels(consumer, topic, str(partition)).set(lag)

    def set_outbox(self, unpublished: int, oldest: datetime | None, now: datetime) -> None:
        self.outbox_unpublished.set(unpublished)
        self.outbox_age.set(_age(oldest, now))

    def set_timers(self, pending: int, overdue: int, oldest_due: datetime | None, now: datetime):
        self.timers_pending.set(pending)
        self.timers_overdue.set(overdue)
        self.timer_overdue_seconds.set(_age(oldest_due, now))

    def set_pool(self, size: int, idle: int, maximum: int) -> None:
        self.pool_size.set(size)
        self.pool_in_use.set(size - idle)
        self.pool_max.set(maximum)

    def set_calendar_days_left(self, days: Mapping[str, int]) -> None:
        for pack, left in days.items():
            self.calendar_days_left.labels(pack).set(left)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _age(oldest: datetime | None, now: datetime) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0


def lag_per_partition(
    log_ends: Mapping[PartitionKey, tuple[int, int]], stored: Mapping[PartitionKey, int]
) -> dict[PartitionKey, int]:
    """Lag of one consumer: end offset minus the next offset stored with its effects.

    A partition the consumer never stored an offset for starts at its beginning offset
    (it reads from the earliest record), so all of it is lag.
    """
    lags = {}
    for key, (beginning, end) in log_ends.items():
        lags[key] = max(end - max(stored.get(key, beginning), beginning), 0)
    return lags


# -- probes: the queries behind the state gauges ---------------------------------------

OUTBOX_SQL = (
    "select count(*) as n, min(recorded_at) as oldest from events where published_at is null"
)
TIMERS_SQL = (
    "select count(*) as pending, count(*) filter (where due_at <= $1) as overdue,"
    " min(due_at) filter (where due_at <= $1) as oldest_due from timers where fired_at is null"
)
OFFSETS_SQL = "select topic, partition, next_offset from consumer_offsets where consumer = $1"


@dataclass(frozen=True)
class Consumer:
    """One inbox consumer: its name (the stored offsets' key) and the topics it reads."""

    name: str
    topics: tuple[str, ...]


class KafkaLogEnds:
    """Beginning and end offsets of topics, asked of Kafka by a group-less client per scrape.

    `security` gives the client's security settings when it connects (none by default).
    """

    def __init__(
        self,
        bootstrap: str,
        client_id: str = "repairline-metrics",
        security: Callable[[], Mapping[str, Any]] = dict,
    ) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._security = security

    async def __call__(self, topics: Iterable[str]) -> dict[PartitionKey, tuple[int, int]]:
        from aiokafka import AIOKafkaConsumer

        from repairline_platform.kafka import topic_partitions

        security = self._security()
        tps = await topic_partitions(self._bootstrap, sorted(set(topics)), security=security)
        if not tps:
            return {}
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=None,
            enable_auto_commit=False,
            **security,
        )
        await consumer.start()
        try:
            beginnings = await consumer.beginning_offsets(tps)
            ends = await consumer.end_offsets(tps)
        finally:
            await consumer.stop()
        return {(tp.topic, tp.partition): (beginnings[tp], ends[tp]) for tp in tps}


LogEnds = Callable[[Iterable[str]], Awaitable[Mapping[PartitionKey, tuple[int, int]]]]


class StateProbe:
    """Reads lag, outbox, timers and pool into the gauges; each part fails on its own."""

    def __init__(
        self,
        metrics: ServiceMetrics,
        *,
        pool: Callable[[], Any],
        now: Callable[[], datetime],
        consumers: Callable[[], Iterable[Consumer]],
        log_ends: LogEnds,
        calendars: Callable[[datetime], Mapping[str, int]] = lambda now: {},
    ) -> None:
        self.metrics = metrics
        self._pool = pool
        self._now = now
        self._consumers = consumers
        self._log_ends = log_ends
        self._calendars = calendars

    async def refresh(self) -> None:
        pool = self._pool()
        if pool is None:
            return  # not started yet: only the counters answer
        for source, read in (
            ("pool", self._read_pool),
            ("outbox", self._read_outbox),
            ("timers", self._read_timers),
            ("lag", self._read_lag),
            ("calendar", self._read_calendars),
        ):
            try:
                await read(pool)
            except Exception:
                self.metrics.scrape_errors.labels(source).inc()
                log.warning("metric not read", source=source, exc_info=True)

    async def _read_pool(self, pool: Any) -> None:
        self.metrics.set_pool(pool.get_size(), pool.get_idle_size(), pool.get_max_size())

    async def _read_outbox(self, pool: Any) -> None:
        row = await pool.fetchrow(OUTBOX_SQL)
        self.metrics.set_outbox(row["n"], row["oldest"], self._now())

    async def _read_timers(self, pool: Any) -> None:
        now = self._now()
        row = await pool.fetchrow(TIMERS_SQL, now)
        self.metrics.set_timers(row["pending"], row["overdue"], row["oldest_due"], now)

    async def _read_calendars(self, pool: Any) -> None:
        self.metrics.set_calendar_days_left(self._calendars(self._now()))

    async def _read_lag(self, pool: Any) -> None:
        consumers = list(self._consumers())
        if not consumers:
            return
        ends = await self._log_ends({t for c in consumers for t in c.topics})
        for consumer in consumers:
            rows = await pool.fetch(OFFSETS_SQL, consumer.name)
            stored = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
            mine = {k: v for k, v in ends.items() if k[0] in consumer.topics}
            self.metrics.set_lag(consumer.name, lag_per_partition(mine, stored))


# -- HTTP -------------------------------------------------------------------------------


class HttpMetricsMiddleware:
    """ASGI middleware: requests by route template (never the raw path) and status."""

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            self.metrics.observe_http(scope["method"], route, status, time.perf_counter() - started)


def counting_dead_letters(
    publish: Callable[[Sequence[Any]], Awaitable[None]], metrics: ServiceMetrics
) -> Callable[[Sequence[Any]], Awaitable[None]]:
    """The dead-letter publisher, counting what it sent per consumer once Kafka has it."""

    async def publish_and_count(letters: Sequence[Any]) -> None:
        await publish(letters)
        for letter in letters:
            metrics.dead_lettered(letter.consumer)

    return publish_and_count


def runtime_consumers(runtime: Any) -> list[Consumer]:
    """The inbox consumers of a service Runtime, with their topics as named on the broker."""
    return [
        Consumer(runtime.consumer_name(h), tuple(runtime.topic(t) for t in h.topics))
        for h in getattr(runtime, "handlers", ())
        if getattr(h, "subscribed", True)  # a copy applied by its reaction has no group
    ]


def install(app: Any, runtime: Any, metrics: ServiceMetrics | None = None) -> ServiceMetrics:
    """`GET /metrics` and the HTTP middleware on a service's FastAPI app.

    `runtime` is the service Runtime: its pool, clock, handlers and Kafka bootstrap are
    read at scrape time, so this may be called before the runtime starts.
    """
    from fastapi import Response

    metrics = metrics or ServiceMetrics()
    from repairline_platform.kafka import security_options

    s = runtime.settings
    log_ends = KafkaLogEnds(
        s.kafka_bootstrap, f"{runtime.name}-metrics", lambda: security_options(s)
    )
    probe = StateProbe(
        metrics,
        pool=lambda: getattr(runtime, "pool", None),
        now=lambda: runtime.clock.now(),
        consumers=lambda: runtime_consumers(runtime),
        log_ends=log_ends,
        calendars=lambda now: runtime.calendar_days_left(now),
    )
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        await probe.refresh()
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.state.metrics = metrics
    return metrics
