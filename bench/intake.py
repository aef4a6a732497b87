"""`POST /tickets` throughput of intake beside a bare FastAPI endpoint (issue P3).

    make bench                                   # 2,000 requests per run, three runs
    BENCH_INTAKE_REQUESTS=5000 BENCH_RUNS=5 make bench

The bare endpoint (`bench/bare_intake.py`) runs on the same server (uvicorn, one
process, the same options as a service) and validates the same body with intake's own
model before inserting one row. Intake does its whole work: the bearer token, the rate
limit, triage, warranty, the three guarantees, the events and their outbox in one
transaction. The same client (`bench.http1`, BENCH_INTAKE_CONCURRENCY keep-alive
connections with a request in flight on each, every request with a new serial number)
drives both, in turns with the order alternating by
run, since the load from other processes drifts. Reported: requests per second, p50 and
p99 of each, their ratio (goal: at least 0.8). Results go to .local/bench/intake.json.

Beside each phase, where the CPU went (read from /proc): milliseconds of CPU per request
of the server, PostgreSQL, the Kafka broker and the client itself, and how many cores
each kept busy. On a small machine these say what bounds a figure: a client near one
full core bounds the bare endpoint's rate, whatever the endpoint could do.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.http1 import Http1
from repairline_contracts.topics import ALL_TOPICS
from repairline_platform import issuer
from repairline_platform.access import USER_ROLES
from repairline_platform.kafka import delete_topics, ensure_topics
from repairline_platform.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
AUTH_DIR = ROOT / ".local" / "auth"


def _body(serial: str) -> dict[str, Any]:
    return {
        "channel": "hotline",
        "region": "cn-east",
        "city_tier": "provincial_capital",
        "service_mode": "on_site",
        "customer": {"name": "Bench", "mobile": "13900000000", "address": "1 Bench Road"},
        "product": {
            "line": "instant_water_heater",
            "model": "WH-30",
            "serial_no": serial,
            "purchase_date": "2025-03-01",
        },
        "fault_description": "No hot water; error E3 on the display",
        "customer_wants": "repair",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One HTTP server process, started and waited for."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.argv, self.env, self.port = name, argv, env, port
        self.log = ROOT / ".local" / "bench" / f"intake-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready in {timeout}s; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of one process so far (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _processes(servers: dict[str, int]) -> dict[str, list[int]]:
    """The processes whose CPU a phase reports: the servers by name, PostgreSQL's, the
    broker's and this client."""
    groups: dict[str, list[int]] = {name: [pid] for name, pid in servers.items()}
    groups |= {"postgres": [], "kafka": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            cmdline = (entry / "cmdline").read_bytes() if comm == "java" else b""
        except OSError:
            continue
        if comm == "postgres":
            groups["postgres"].append(int(entry.name))
        elif b"kafka.Kafka" in cmdline:
            groups["kafka"].append(int(entry.name))
    groups["client"] = [os.getpid()]
    return groups


class CpuMeter:
    """CPU seconds each group of processes used between `start` and `stop`: the servers
    (name -> pid), PostgreSQL, the broker and this client."""

    def __init__(self, servers: dict[str, int]) -> None:
        self.servers = servers
        self.before: dict[int, float] = {}

    def start(self) -> None:
        self.before = {
            pid: _cpu_seconds(pid) for pids in _processes(self.servers).values() for pid in pids
        }

    def used(self) -> dict[str, float]:
        return {
            group: sum(_cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in pids)
            for group, pids in _processes(self.servers).items()
        }

    def stop(self, requests: int, seconds: float) -> dict[str, Any]:
        used = self.used()
        return {
            "cpu_ms_per_request": {g: round(s * 1000 / requests, 2) for g, s in used.items()},
            "cores_busy": {g: round(s / seconds, 2) for g, s in used.items()},
        }


async def _drive(
    url: str, headers: dict[str, str], n: int, concurrency: int, meter: CpuMeter
) -> dict[str, Any]:
    """`n` requests, `concurrency` in flight; every answer must be a 201."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(range(n))
    run = uuid.uuid4().hex[:8]

    async def worker(client: Http1) -> None:
        for i in queue:
            started = time.perf_counter()
            status, _ = await client.post("/tickets", _body(f"SNB{run}{i}"))
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    clients = [Http1(url, headers) for _ in range(concurrency)]
    try:
        for i in range(min(50, n)):  # warm up: connections, caches, the server's first calls
            await clients[i % concurrency].post("/tickets", _body(f"SNW{uuid.uuid4().hex}"))
        meter.start()
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for client in clients))
        seconds = time.perf_counter() - started
        cpu = meter.stop(n, seconds)
    finally:
        for client in clients:
            client.close()
    assert statuses == {201: n}, statuses
    ordered = sorted(latencies)
    return {
        "per_s": round(n / seconds, 1),
        "seconds": round(seconds, 2),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
        **cpu,
    }


class _NothingStored:
    """Intake's store with nothing in it: no open ticket, no sale on record."""

    def __init__(self) -> None:
        self.seq = 0
        self.places: dict[str, int] = {}

    def __call__(self, uow: Any) -> _NothingStored:
        return self

    async def open_ticket_with_serial(self, serial_no: str) -> str | None:
        return None

    async def next_ticket_seq(self) -> int:
        self.seq += 1
        return self.seq

    async def next_queue_place(self, day: str) -> int:
        self.places[day] = self.places.get(day, 0) + 1
        return self.places[day]

    async def sale_date(self, serial_no: str) -> Any:
        return None

    async def repair_completed(self, ticket_id: str) -> bool:
        return False


async def _decision_alone(n: int) -> float:
    """Milliseconds of CPU per request of intake's own decision: the bench's bodies, as
    the route validated them, decided (INT-1..7, WAR-1..9) and appended to an in-memory
    event store; no HTTP, database, Kafka or logs. Work intake does beyond the bare
    endpoint's whole request, so its server needs at least the two together."""
    import logging

    import structlog

    from repairline_intake import commands
    from repairline_intake.schemas import RepairRequestIn
    from repairline_platform.clock import FixedClock
    from repairline_platform.testing import InMemoryEventStore
    from repairline_rules import load_pack

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    pack = load_pack("water-heater")
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
    run = uuid.uuid4().hex[:8]
    bodies = [RepairRequestIn.model_validate(_body(f"SND{run}{i}")) for i in range(n)]
    cpu = 0.0
    for start in range(0, n, 100):  # a small store, as PostgreSQL's indexes keep reads small
        events = InMemoryEventStore(FixedClock(now))
        intake = commands.Intake(events.unit_of_work, lambda _: pack, store=_NothingStored())
        started = time.process_time()
        for body in bodies[start : start + 100]:
            await commands.request_repair(body.command(), intake)
        cpu += time.process_time() - started
    return cpu / n * 1000


async def main() -> None:
    n = int(os.environ.get("BENCH_INTAKE_REQUESTS", "2000"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    concurrency = int(os.environ.get("BENCH_INTAKE_CONCURRENCY", "8"))
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    database = f"{prefix.rstrip('.')}_intake"
    settings = ServiceSettings(topic_prefix=prefix, database=database)
    topics = [prefix + t for t in ALL_TOPICS]
    await ensure_topics(settings.kafka_bootstrap, topics, partitions=6, replication=1)
    env = {
        **os.environ,
        **issuer.local_environment(AUTH_DIR),
        "REPAIRLINE_TOPIC_PREFIX": prefix,
        "REPAIRLINE_DATABASE": database,
        "REPAIRLINE_CLOCK": "simulated",
        "REPAIRLINE_LOG_FORMAT": "json",
        "REPAIRLINE_RATE_LIMIT_PER_MINUTE": "100000000",
        "REPAIRLINE_RATE_LIMIT_BURST": "100000000",
    }
    bin_dir = Path(sys.executable).parent
    intake_port, bare_port = _free_port(), _free_port()
    servers = {
        "intake": Server(
            "intake",
            [str(bin_dir / "repairline-intake"), "serve"],
            {**env, "REPAIRLINE_HTTP_PORT": str(intake_port)},
            intake_port,
        ),
        "bare": Server(
            "bare",
            [sys.executable, "-m", "bench.bare_intake", str(bare_port)],
            {**env, "PYTHONPATH": str(ROOT)},
            bare_port,
        ),
    }
    token = issuer.mint(AUTH_DIR, issuer.Grant("bench-agent", tuple(sorted(USER_ROLES))))
    headers = {"Authorization": f"Bearer {token}"}
    results: list[dict[str, Any]] = []
    try:
        for server in servers.values():
            server.start()
        for run in range(1, runs + 1):
            order = ("intake", "bare") if run % 2 else ("bare", "intake")
            result: dict[str, Any] = {"run": run, "order": order}
            for name in order:
                server = servers[name]
                assert server.proc is not None
                result[name] = await _drive(
                    server.url,
                    headers if name == "intake" else {},
                    n,
                    concurrency,
                    CpuMeter({"server": server.proc.pid}),
                )
            result["ratio"] = round(result["intake"]["per_s"] / result["bare"]["per_s"], 3)
            results.append(result)
            print(
                f"bench: run {run}: intake {result['intake']['per_s']:>7,.1f} req/s"
                f" (p50 {result['intake']['p50_ms']} ms, p99 {result['intake']['p99_ms']} ms),"
                f" bare {result['bare']['per_s']:>7,.1f} req/s"
                f" (p50 {result['bare']['p50_ms']} ms, p99 {result['bare']['p99_ms']} ms),"
                f" ratio {result['ratio']:.3f}; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            for name in order:
                ms, cores = result[name]["cpu_ms_per_request"], result[name]["cores_busy"]
                print(
                    f"bench:   {name:>6} CPU ms per request: "
                    + ", ".join(f"{g} {ms[g]:.2f} ({cores[g]:.2f} cores)" for g in ms),
                    flush=True,
                )
    finally:
        for server in servers.values():
            server.stop()
        await delete_topics(settings.kafka_bootstrap, topics)
        conn = await asyncpg.connect(f"{settings.pg_dsn}/postgres")
        await conn.execute(f'drop database if exists "{database}" with (force)')
        await conn.close()
    ratios = sorted(r["ratio"] for r in results)
    decision = await _decision_alone(n)
    bare_ms = statistics.median(r["bare"]["cpu_ms_per_request"]["server"] for r in results)
    ceiling = bare_ms / (bare_ms + decision)
    summary = {
        "requests_per_run": n,
        "concurrency": concurrency,
        "ratio": ratios[len(ratios) // 2],
        "decision_alone_cpu_ms_per_request": round(decision, 3),
        "ratio_ceiling": round(ceiling, 3),
        "runs": results,
        "measured_at": datetime.now(UTC).isoformat(),
    }
    print(
        f"bench: intake / bare POST /tickets, median of {runs} runs: {summary['ratio']:.3f}"
        f" (goal: at least 0.8; all runs: {', '.join(f'{r:.3f}' for r in ratios)})"
    )
    print(
        f"bench: intake's decision alone (in memory: no HTTP, database, Kafka or logs)"
        f" {decision:.3f} ms of CPU per request, beside the bare endpoint's whole request"
        f" {bare_ms:.3f} ms on its server: intake's server at the bare rate x"
        f" {ceiling:.3f} at most"
    )
    out = ROOT / ".local" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "intake.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
