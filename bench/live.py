"""The live path: from intake's 201 to `EngineerAssigned` in intake's ticket view (P2).

    make bench                                        # 50 and 200 tickets/s, 20 s each
    BENCH_LIVE_RATES=50,100 BENCH_LIVE_SECONDS=30 make bench

Intake and dispatch run as their own processes on the project's Kafka and PostgreSQL, as
`make run` starts them (one instance each, simulated clocks on a Monday at 10:00 in the
pack's time zone, so DSP-1 assigns at once). An open-loop client sends `POST /tickets`
at each rate, whatever the answers' latency, and records when each 201 arrived. A
watcher reads intake's `ticket_view` (the table `GET /tickets/{id}` answers from) every
5 ms (5 ms per 50 tickets while more wait) and records when each ticket first shows an
engineer. Per ticket, 201 to visible: p50, p99 and max.

Beside it, in the same run and under the same load, a probe measures Kafka's own
produce-to-consume round trip on the same broker (one record every 20 ms, acks=all, one
consumer): p50 and p99. The goal: the live path's p99 at most 3x the broker's p99 plus
the relay's poll interval (`REPAIRLINE_RELAY_IDLE_SECONDS`).

The breakdown, per ticket, from the services' own records (intake's `events` row of the
`RepairRequested` dispatch assigns on, its record on the topic, dispatch's `events` row of
`EngineerAssigned` and its record): intake's outbox wait (appended to sent), the broker to
dispatch's decision (sent to appended, which holds dispatch's consumer batch wait and its
handler; the handler's own mean comes from dispatch's `repairline_consumer_batch_seconds`),
dispatch's outbox wait, and the way back (sent to visible in intake's view). Results go to
.local/bench/live.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.http1 import Http1
from bench.intake import AUTH_DIR, ROOT, CpuMeter, Server, _free_port
from bench.intake import _body as intake_body
from repairline_contracts.topics import ALL_TOPICS, DISPATCH_EVENTS, INTAKE_EVENTS
from repairline_platform import issuer
from repairline_platform.access import USER_ROLES
from repairline_platform.kafka import delete_topics, ensure_topics
from repairline_platform.settings import ServiceSettings

CLOCK_DATE = date(2026, 3, 2)  # a Monday, a working day in every shipped pack
ZONE = ZoneInfo("Asia/Shanghai")
ENGINEERS = 60
PROBE_EVERY_S = 0.02
WATCH_EVERY_S = 0.005
WATCH_PER_LOOK = 50  # waiting tickets per look before the looks space out
CONNECTIONS = 256  # the client's connections to intake


def _body(serial: str, n: int) -> dict[str, Any]:
    """Intake's bench request, a hardware fault at one of a few homes (DSP-1 travel)."""
    return {
        **intake_body(serial),
        "fault_kind": "hardware",
        "location": {"lat": 30.25 + 0.001 * (n % 40), "lon": 120.16 + 0.001 * (n % 30)},
    }


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)
    p99 = ordered[max(0, int(len(ordered) * 0.99 + 0.5) - 1)]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(p99 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


# -- the services ------------------------------------------------------------------------


class Services:
    """Intake and dispatch on their own topics and databases, and the bench's access."""

    def __init__(self) -> None:
        self.prefix = f"live{uuid.uuid4().hex[:8]}."
        self.settings = ServiceSettings(topic_prefix=self.prefix)
        self.topics = [self.prefix + t for t in ALL_TOPICS]
        token = issuer.mint(AUTH_DIR, issuer.Grant("bench-live", tuple(sorted(USER_ROLES))))
        self.headers = {"Authorization": f"Bearer {token}"}
        env = {
            **os.environ,
            **issuer.local_environment(AUTH_DIR),
            "REPAIRLINE_TOPIC_PREFIX": self.prefix,
            "REPAIRLINE_CLOCK": "simulated",
            "REPAIRLINE_CLOCK_DATE": CLOCK_DATE.isoformat(),
            "REPAIRLINE_LOG_FORMAT": "json",
            "REPAIRLINE_RATE_LIMIT_PER_MINUTE": "100000000",
            "REPAIRLINE_RATE_LIMIT_BURST": "100000000",
        }
        bin_dir = Path(sys.executable).parent
        self.servers: dict[str, Server] = {}
        for name in ("intake", "dispatch"):
            port = _free_port()
            self.servers[name] = Server(
                f"live-{name}",
                [str(bin_dir / f"repairline-{name}"), "serve"],
                {**env, "REPAIRLINE_HTTP_PORT": str(port), "REPAIRLINE_DATABASE": self.db(name)},
                port,
            )
        self.relay_idle_s = self.settings.relay_idle_seconds
        self.offset = timedelta(0)  # service clock minus real time

    def pids(self) -> dict[str, int]:
        return {n: s.proc.pid for n, s in self.servers.items() if s.proc is not None}

    def db(self, name: str) -> str:
        return f"{self.prefix.rstrip('.')}_{name}"

    def url(self, name: str) -> str:
        return self.servers[name].url

    async def start(self) -> None:
        await ensure_topics(self.settings.kafka_bootstrap, self.topics, partitions=6, replication=1)
        for server in self.servers.values():
            server.start()
        async with httpx.AsyncClient(headers=self.headers, timeout=30) as http:
            await self._to_business_hours(http)
            for e in range(ENGINEERS):
                answer = await http.put(
                    f"{self.url('dispatch')}/engineers/eng-live-{e:03d}",
                    json={
                        "name": f"Engineer {e}",
                        "region": "cn-east",
                        "skills": ["instant_water_heater"],
                        "capacity": None,  # unlimited: the bench measures the path, not DSP-1
                        "home": {"lat": 30.25 + 0.002 * e, "lon": 120.16},
                    },
                )
                answer.raise_for_status()

    async def _to_business_hours(self, http: httpx.AsyncClient) -> None:
        """Both clocks moved by one known amount to 10:00 local on a working day."""
        now = datetime.fromisoformat(
            (await http.get(f"{self.url('intake')}/admin/clock")).json()["now"]
        )
        local = now.astimezone(ZONE)
        target = local.replace(hour=10, minute=0, second=0, microsecond=0)
        if target <= local:
            target += timedelta(days=1)
        while target.weekday() >= 5:
            target += timedelta(days=1)
        move = (target - local).total_seconds()
        for name in self.servers:
            answer = await http.post(
                f"{self.url(name)}/admin/clock/advance", json={"seconds": move}
            )
            answer.raise_for_status()
        days = (CLOCK_DATE - datetime.now(UTC).date()).days
        self.offset = timedelta(days=days, seconds=move)

    async def metric_sum(
        self, name: str, metric: str, consumer_contains: str
    ) -> tuple[float, float]:
        """(sum, count) of a histogram over the consumers whose label names `consumer_contains`."""
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(f"{self.url(name)}/metrics")).text
        total = count = 0.0
        for line in text.splitlines():
            if consumer_contains not in line:
                continue
            if line.startswith(f"{metric}_sum"):
                total += float(line.rsplit(" ", 1)[1])
            elif line.startswith(f"{metric}_count"):
                count += float(line.rsplit(" ", 1)[1])
        return total, count

    async def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        await delete_topics(self.settings.kafka_bootstrap, self.topics)
        conn = await asyncpg.connect(f"{self.settings.pg_dsn}/postgres")
        try:
            for name in self.servers:
                await conn.execute(f'drop database if exists "{self.db(name)}" with (force)')
        finally:
            await conn.close()


# -- one rate ----------------------------------------------------------------------------


class Phase:
    """Tickets sent at one rate: when each 201 came and when each showed an engineer."""

    def __init__(self, rate: float, seconds: float) -> None:
        self.rate, self.seconds = rate, seconds
        self.answered: dict[str, float] = {}  # ticket id -> wall time of the 201
        self.visible: dict[str, float] = {}
        self.refused: dict[int, int] = {}
        self.sent = 0
        self.send_seconds = 0.0

    async def send(self, services: Services) -> None:
        run = uuid.uuid4().hex[:6]
        queue: asyncio.Queue[int | None] = asyncio.Queue()

        async def connection() -> None:
            """One keep-alive connection, sending the requests queued, one at a time."""
            client = Http1(services.url("intake"), services.headers)
            try:
                while (n := await queue.get()) is not None:
                    status, body = await client.post("/tickets", _body(f"SNL{run}{n:06d}", n))
                    if status == 201:
                        self.answered[json.loads(body)["ticket_id"]] = time.time()
                    else:
                        self.refused[status] = self.refused.get(status, 0) + 1
            finally:
                client.close()

        senders = [asyncio.create_task(connection()) for _ in range(CONNECTIONS)]
        total = int(self.rate * self.seconds)
        started = time.monotonic()
        for n in range(total):  # open loop: the n-th request leaves at n / rate
            delay = started + n / self.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(n)
        self.sent = total
        self.send_seconds = time.monotonic() - started
        for _ in senders:
            queue.put_nowait(None)
        await asyncio.gather(*senders)

    async def watch(self, conn: asyncpg.Connection, done: asyncio.Event) -> None:
        while True:
            pending = [t for t in self.answered if t not in self.visible]
            if pending:
                rows = await conn.fetch(
                    "select ticket_id from ticket_view"
                    " where ticket_id = any($1::text[]) and engineer_id is not null",
                    pending,
                )
                seen = time.time()
                for row in rows:
                    self.visible[row["ticket_id"]] = seen
            elif done.is_set():
                return
            # every 5 ms, less often while many wait: each look costs PostgreSQL one index
            # probe per waiting ticket, and a look every 5 ms at thousands of them (the
            # path saturated) took more of the database than the services did; waiting
            # 5 ms per 50 keeps a look's lag near 2 % of the latency it measures at 200/s
            await asyncio.sleep(WATCH_EVERY_S * max(1.0, len(pending) / WATCH_PER_LOOK))


async def _probe(bootstrap: str, topic: str, stop: asyncio.Event) -> list[float]:
    """Kafka's own produce-to-consume round trip, one record every PROBE_EVERY_S."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="latest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    trips: list[float] = []
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        await consumer.seek_to_end()

        async def read() -> None:
            while True:
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    now = time.perf_counter()
                    trips.extend(now - float(r.value) for r in records)

        reader = asyncio.create_task(read())
        while not stop.is_set():
            await producer.send_and_wait(topic, str(time.perf_counter()).encode())
            await asyncio.sleep(PROBE_EVERY_S)
        await asyncio.sleep(0.5)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    finally:
        await producer.stop()
        await consumer.stop()
    return trips


async def _record_times(bootstrap: str, topic: str) -> dict[str, float]:
    """Each record's timestamp on `topic` (ms since the epoch) by its envelope's id."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    times: dict[str, float] = {}
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=2000, max_records=5000)
            if not batch:
                return times
            for records in batch.values():
                for r in records:
                    times[json.loads(r.value)["id"]] = r.timestamp / 1000
    finally:
        await consumer.stop()


async def _breakdown(services: Services, phase: Phase) -> dict[str, Any]:
    """Where the time went, per ticket, from the services' event stores and topics."""
    offset = services.offset.total_seconds()
    tickets = [t for t in phase.answered if t in phase.visible]
    intake = await asyncpg.connect(f"{services.settings.pg_dsn}/{services.db('intake')}")
    dispatch = await asyncpg.connect(f"{services.settings.pg_dsn}/{services.db('dispatch')}")
    try:
        asked = {
            r["stream_id"]: r
            for r in await intake.fetch(
                "select stream_id, event_id, recorded_at from events"
                " where event_type = 'repairline.intake.RepairRequested'"
                " and stream_id = any($1::text[])",
                tickets,
            )
        }
        assigned = {
            r["stream_id"]: r
            for r in await dispatch.fetch(
                "select distinct on (stream_id) stream_id, event_id, recorded_at from events"
                " where event_type = 'repairline.dispatch.EngineerAssigned'"
                " and stream_id = any($1::text[]) order by stream_id, global_position",
                tickets,
            )
        }
    finally:
        await intake.close()
        await dispatch.close()
    bootstrap = services.settings.kafka_bootstrap
    on_topic = {
        **await _record_times(bootstrap, services.prefix + INTAKE_EVENTS),
        **await _record_times(bootstrap, services.prefix + DISPATCH_EVENTS),
    }
    parts: dict[str, list[float]] = {
        "request_appended_to_answer": [],
        "intake_outbox_wait": [],
        "broker_and_dispatch_decision": [],
        "dispatch_outbox_wait": [],
        "broker_and_intake_view": [],
    }
    for t in tickets:
        a, b = asked.get(t), assigned.get(t)
        if a is None or b is None or a["event_id"] not in on_topic or b["event_id"] not in on_topic:
            continue
        a_appended = a["recorded_at"].timestamp() - offset
        b_appended = b["recorded_at"].timestamp() - offset
        a_sent, b_sent = on_topic[a["event_id"]], on_topic[b["event_id"]]
        parts["request_appended_to_answer"].append(phase.answered[t] - a_appended)
        parts["intake_outbox_wait"].append(a_sent - a_appended)
        parts["broker_and_dispatch_decision"].append(b_appended - a_sent)
        parts["dispatch_outbox_wait"].append(b_sent - b_appended)
        parts["broker_and_intake_view"].append(phase.visible[t] - b_sent)
    return {name: _quantiles(values) for name, values in parts.items()}


async def _run_phase(services: Services, rate: float, seconds: float) -> dict[str, Any]:
    phase = Phase(rate, seconds)
    handler_before = await services.metric_sum(
        "dispatch", "repairline_consumer_batch_seconds", 'consumer="dispatch.assignment"'
    )
    probe_topic = services.prefix + f"probe.{int(rate)}"
    services.topics.append(probe_topic)  # deleted with the others when the bench stops
    await ensure_topics(
        services.settings.kafka_bootstrap, [probe_topic], partitions=1, replication=1
    )
    watch_conn = await asyncpg.connect(f"{services.settings.pg_dsn}/{services.db('intake')}")
    sent, stop_probe = asyncio.Event(), asyncio.Event()
    probe = asyncio.create_task(_probe(services.settings.kafka_bootstrap, probe_topic, stop_probe))
    watcher = asyncio.create_task(phase.watch(watch_conn, sent))
    meter = CpuMeter(services.pids())
    meter.start()
    started = time.monotonic()
    try:
        await phase.send(services)
        sent.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(watcher), timeout=120)
        used, window = meter.used(), time.monotonic() - started
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        stop_probe.set()
        trips = await probe
        await watch_conn.close()
    handler_after = await services.metric_sum(
        "dispatch", "repairline_consumer_batch_seconds", 'consumer="dispatch.assignment"'
    )
    batches = handler_after[1] - handler_before[1]
    handler_mean = (handler_after[0] - handler_before[0]) / batches if batches else None
    paths = [phase.visible[t] - at for t, at in phase.answered.items() if t in phase.visible]
    live, broker = _quantiles(paths), _quantiles(trips)
    allowance_ms = 3 * (broker["p99_ms"] or 0) + services.relay_idle_s * 1000
    return {
        "rate_asked_per_s": rate,
        "rate_sent_per_s": round(phase.sent / phase.send_seconds, 1),
        "tickets_sent": phase.sent,
        "answered_201": len(phase.answered),
        "refused": phase.refused,
        "never_visible": len(phase.answered) - len(paths),
        "live_201_to_assigned_visible": live,
        "broker_round_trip": broker,
        "relay_poll_ms": services.relay_idle_s * 1000,
        "goal_p99_ms": round(allowance_ms, 1),
        "within_goal": bool(live["p99_ms"] and live["p99_ms"] <= allowance_ms),
        "p99_ratio": round(live["p99_ms"] / broker["p99_ms"], 2)
        if live["p99_ms"] and broker["p99_ms"]
        else None,
        "breakdown": await _breakdown(services, phase),
        "cpu": _cpu(used, window, phase.sent, rate),
        "dispatch_handler_batch_mean_ms": round(handler_mean * 1000, 1)
        if handler_mean is not None
        else None,
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def _cpu(used: dict[str, float], window: float, tickets: int, rate: float) -> dict[str, Any]:
    """Where the CPU went from the first request to the last ticket visible: ms per ticket
    of each process (`client`: this bench's sender, watcher and probe), cores kept busy,
    and the cores the rate asked for needs at that cost per ticket against the machine's."""
    per_ticket = {g: s * 1000 / tickets for g, s in used.items()} if tickets else {}
    total = sum(per_ticket.values())
    return {
        "ms_per_ticket": {g: round(ms, 2) for g, ms in per_ticket.items()},
        "total_ms_per_ticket": round(total, 2),
        "cores_busy": {g: round(s / window, 2) for g, s in used.items()},
        "window_seconds": round(window, 1),
        "cores_needed_at_rate": round(total * rate / 1000, 2),
        "cores": os.cpu_count(),
    }


async def main() -> None:
    rates = [float(r) for r in os.environ.get("BENCH_LIVE_RATES", "50,200").split(",")]
    seconds = float(os.environ.get("BENCH_LIVE_SECONDS", "20"))
    services = Services()
    phases: list[dict[str, Any]] = []
    try:
        await services.start()
        await _run_phase(services, 10, 3)  # warm up: connections, caches, the pools
        for rate in rates:
            result = await _run_phase(services, rate, seconds)
            phases.append(result)
            live, broker = result["live_201_to_assigned_visible"], result["broker_round_trip"]
            print(
                f"bench: live path at {rate:g}/s asked, {result['rate_sent_per_s']:g}/s sent:"
                f" 201 to assigned-in-view p50 {live['p50_ms']} ms, p99 {live['p99_ms']} ms;"
                f" broker round trip p50 {broker['p50_ms']} ms, p99 {broker['p99_ms']} ms;"
                f" p99 ratio {result['p99_ratio']} (goal: p99 within {result['goal_p99_ms']} ms);"
                f" load {result['load_average_1m']}",
                flush=True,
            )
            cpu = result["cpu"]
            print(
                f"bench:   CPU ms per ticket: {cpu['ms_per_ticket']}, in all"
                f" {cpu['total_ms_per_ticket']}: {rate:g}/s needs {cpu['cores_needed_at_rate']}"
                f" of {cpu['cores']} cores",
                flush=True,
            )
    finally:
        await services.stop()
    summary = {
        "seconds_per_rate": seconds,
        "engineers": ENGINEERS,
        "p99_ratio": max((p["p99_ratio"] or 0) for p in phases) if phases else None,
        "phases": phases,
        "measured_at": datetime.now(UTC).isoformat(),
    }
    out = ROOT / ".local" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "live.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    uvloop.run(main())  # the client, the watcher and the probe: the less CPU they take the better
