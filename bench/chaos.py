"""make chaos: tickets through four services, two instances each, while things break.

    make chaos                          # 2,000 tickets, 10 kills per service, every fault
    CHAOS_TICKETS=200 CHAOS_KILLS=2 .venv/bin/python -m bench.chaos   # the short run

It starts a Kafka broker and a PostgreSQL cluster of its own (under `.local/chaos`, on
ports 29092/29093 and 25432, so a running system or test suite is never touched), two
instances of every service on one database and one consumer group each, and a demo
roster. A client sends tickets over HTTP to either instance (retrying on the other,
with an `Idempotency-Key`), drives each engineer's visit (arrival, completion), and
meanwhile a fault schedule SIGKILLs instances at random, restarts the broker, stops
PostgreSQL with `-m immediate`, SIGSTOPs an instance past the consumer session
timeout, and moves the shared simulated clock so SLA, callback and penalty timers fire
during the faults.

Then it checks, from the services' own stores and the topics: every acknowledged
ticket has exactly one assignment, completion, charge and after-service callback; no
engineer was over capacity; stream versions have no gaps; every stored event is on its
topic; the dead-letter topic is empty; replay of every projection equals the live one.
It prints a table of these counts and the recovery time after each fault, writes
`.local/bench/chaos.json`, and exits 1 when any count that must be 0 is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from repairline_platform import issuer
from repairline_platform.access import USER_ROLES
from repairline_platform.kafka import topic_partitions

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "dispatch", "billing", "feedback")
TOPICS = {s: f"repairline.{s}.events" for s in SERVICES}
DEAD_LETTER = "repairline.deadletter"
PLATFORM_TABLES = {
    "events",
    "consumer_offsets",
    "processed_events",
    "timers",
    "clock_state",
    "schema_migrations",
    "idempotency_keys",
}


@dataclass(frozen=True)
class Settings:
    tickets: int = int(os.environ.get("CHAOS_TICKETS", "2000"))
    kills: int = int(os.environ.get("CHAOS_KILLS", "10"))
    concurrency: int = int(os.environ.get("CHAOS_CONCURRENCY", "24"))
    spread_s: float = float(os.environ.get("CHAOS_SPREAD_SECONDS", "240"))
    seed: int = int(os.environ.get("CHAOS_SEED", "7"))
    engineers: int = int(os.environ.get("CHAOS_ENGINEERS", "40"))
    capacity: int = int(os.environ.get("CHAOS_CAPACITY", "6"))
    kafka_port: int = int(os.environ.get("CHAOS_KAFKA_PORT", "29092"))
    pg_port: int = int(os.environ.get("CHAOS_PG_PORT", "25432"))
    http_base: int = int(os.environ.get("CHAOS_HTTP_BASE", "29100"))
    clock_date: str = os.environ.get("CHAOS_CLOCK_DATE", "2026-03-02")  # a Monday
    session_timeout_s: float = 10.0  # aiokafka's default consumer session timeout

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def pg_dsn(self) -> str:
        return f"postgresql://repairline@127.0.0.1:{self.pg_port}"


# -- the infrastructure of its own ---------------------------------------------------------


CHAOS_DIR = ROOT / ".local" / "chaos"


class Infra:
    def __init__(self, s: Settings) -> None:
        self.env = {
            **os.environ,
            "REPAIRLINE_LOCAL_DIR": str(CHAOS_DIR),
            "REPAIRLINE_KAFKA_PORT": str(s.kafka_port),
            "REPAIRLINE_KAFKA_CONTROLLER_PORT": str(s.kafka_port + 1),
            "REPAIRLINE_PG_PORT": str(s.pg_port),
            # the broker's jars from the checkout's own Maven repository: no second download
            "REPAIRLINE_M2_REPO": str(ROOT / ".local" / "m2"),
        }

    def fresh(self) -> None:
        """A broker and a database with nothing of an earlier run: its topics, stores,
        consumer positions and logs are removed (the downloaded broker is kept)."""
        self.run("down")
        place = CHAOS_DIR / "pg.place"
        pg_dir = Path(place.read_text().strip()) if place.exists() else CHAOS_DIR / "pg"
        for leftover in (CHAOS_DIR / "kafka" / "data", pg_dir, CHAOS_DIR / "logs"):
            shutil.rmtree(leftover, ignore_errors=True)
        place.unlink(missing_ok=True)
        self.run("up")

    def run(self, *args: str) -> None:
        done = subprocess.run(
            [str(ROOT / "deploy/local/infra.sh"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"infra.sh {' '.join(args)} failed:\n{done.stderr[-2000:]}")


# -- service instances -----------------------------------------------------------------------


@dataclass
class Instance:
    service: str
    index: int
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        logs = ROOT / ".local" / "chaos" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin" / f"repairline-{self.service}"), "serve"],
            env={**self.env, "REPAIRLINE_HTTP_PORT": str(self.port)},
            stdout=(logs / f"{self.name}.log").open("ab"),
            stderr=subprocess.STDOUT,
        )

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


async def ready(http: httpx.AsyncClient, instances: list[Instance], within: float) -> float:
    """Seconds until every instance answers /readyz 200 (raises after `within` seconds)."""
    started = time.monotonic()
    pending = list(instances)
    why: dict[str, Any] = {}
    while pending:
        if time.monotonic() - started > within:
            raise RuntimeError(f"not ready after {within}s: {json.dumps(why, default=str)}")
        still = []
        for inst in pending:
            try:
                answer = await http.get(f"{inst.url}/readyz", timeout=2)
                ok = answer.status_code == 200
                why[inst.name] = answer.text[:1500]
            except httpx.HTTPError as exc:
                ok = False
                why[inst.name] = type(exc).__name__
            if not ok:
                still.append(inst)
        pending = still
        if pending:
            await asyncio.sleep(0.2)
    return time.monotonic() - started


def free_or_explain(inst: Instance) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", inst.port))
        except OSError:
            raise RuntimeError(
                f"port {inst.port} of {inst.name} is in use (an instance of an interrupted"
                " run?); stop that process or set CHAOS_HTTP_BASE"
            ) from None


# -- the client --------------------------------------------------------------------------------


class Client:
    """Sends each request to either instance of a service, retrying on the other."""

    def __init__(self, http: httpx.AsyncClient, fleet: dict[str, list[Instance]]) -> None:
        self.http = http
        self.fleet = fleet

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        deadline: float = 240.0,
        accept: tuple[int, ...] = (200, 201),
    ) -> tuple[int, Any]:
        key = str(uuid.uuid4())  # kept across lost answers, renewed after a refusal
        started = time.monotonic()
        attempt = 0
        while True:
            inst = self.fleet[service][attempt % len(self.fleet[service])]
            attempt += 1
            try:
                answer = await self.http.request(
                    method,
                    f"{inst.url}{path}",
                    json=body,
                    headers={"Idempotency-Key": key} if method == "POST" else {},
                    timeout=15,
                )
                if answer.status_code in accept or (
                    answer.status_code < 500 and answer.status_code not in (404, 409)
                ):
                    return answer.status_code, answer.json()
                recorded = _recorded_unanswered(answer)
                if recorded is not None:  # the first attempt's effects stand; no answer kept
                    return answer.status_code, recorded
                if answer.status_code < 500 and not _in_progress(answer):
                    key = str(uuid.uuid4())  # not caught up yet: ask again, as a new request
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() - started > deadline:
                raise TimeoutError(f"{method} {service}{path} did not succeed in {deadline}s")
            await asyncio.sleep(min(2.0, 0.1 * attempt))

    async def until(self, service: str, path: str, check: Any, deadline: float = 600.0) -> Any:
        started = time.monotonic()
        while time.monotonic() - started < deadline:
            try:
                status, body = await self.call(service, "GET", path, deadline=60)
                if status == 200 and check(body):
                    return body
            except TimeoutError:
                pass
            await asyncio.sleep(0.5)
        raise TimeoutError(f"{service}{path}: condition not met in {deadline}s")


def _in_progress(answer: httpx.Response) -> bool:
    return answer.status_code == 409 and _error(answer) == "request_in_progress"


def _recorded_unanswered(answer: httpx.Response) -> dict[str, Any] | None:
    """The first attempt with this key recorded its effects and its process stopped before
    its answer was kept: the 409 names the stream (for a ticket, the ticket id)."""
    if not _in_progress(answer):
        return None
    body = answer.json()
    return body if body.get("stream_id") else None


def _error(answer: httpx.Response) -> str | None:
    try:
        return answer.json().get("error")
    except ValueError:
        return None


def ticket_body(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "channel": "hotline",
        "region": "cn-east",
        "city_tier": rng.choice(["municipality", "provincial_capital", "prefecture_city"]),
        "service_mode": "on_site",
        "customer": {"name": f"Customer {n}", "mobile": "+86 139 0000 0000", "address": "1 Road"},
        "product": {
            "line": "instant_water_heater",
            "model": "WH-30",
            "serial_no": f"CHAOS{n:06d}{rng.randrange(10**6):06d}",
            "purchase_date": "2024-03-01",
        },
        "fault_description": "No hot water; error E3 on the display",
        "customer_wants": "repair",
    }


@dataclass
class Run:
    acknowledged: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)
    faults: list[dict[str, Any]] = field(default_factory=list)


async def one_ticket(client: Client, rng: random.Random, n: int, run: Run) -> None:
    try:
        status, created = await client.call("intake", "POST", "/tickets", ticket_body(rng, n))
    except TimeoutError as exc:
        run.failures[str(exc).split(":")[0]] += 1
        return
    if status == 409:  # created by an attempt whose answer was lost with its process
        created = {"ticket_id": created["stream_id"]}
    elif status != 201:
        run.failures[f"intake answered {status}"] += 1
        return
    ticket = created["ticket_id"]
    run.acknowledged.add(ticket)
    try:
        await client.until("dispatch", f"/tickets/{ticket}", lambda b: b.get("engineer_id"))
        for step, body in (("arrival", {}), ("completion", completion_body(n))):
            status, _ = await client.call("dispatch", "POST", f"/tickets/{ticket}/{step}", body)
            if not accepted(status):  # refused: the visit did not happen; not completed
                run.failures[f"dispatch answered {status} to {step}"] += 1
                return
        run.completed.add(ticket)
    except TimeoutError as exc:
        run.failures[str(exc).split(":")[0]] += 1


def accepted(status: int) -> bool:
    """Whether a visit report took effect: answered, or recorded by an attempt whose
    answer was lost (the 409 that names the stream)."""
    return status in (200, 201, 409)


def completion_body(n: int) -> dict[str, Any]:
    return {
        "resolution": "replaced the thermostat",
        "signed_by": f"Customer {n}",
        "repair_record": {"fault_found": "thermostat open", "parts_replaced": []},
    }


# -- faults ----------------------------------------------------------------------------------


async def faults(
    s: Settings,
    infra: Infra,
    fleet: dict[str, list[Instance]],
    http: httpx.AsyncClient,
    run: Run,
    load_done: asyncio.Event,
) -> None:
    rng = random.Random(s.seed + 1)
    plan: list[str] = [f"kill:{svc}" for svc in SERVICES for _ in range(s.kills)]
    rng.shuffle(plan)
    third = max(1, len(plan) // 3)
    plan.insert(third, "broker-restart")
    plan.insert(2 * third, "sigstop")
    plan.insert(len(plan) - third // 2, "pg-immediate-stop")
    everyone = [i for group in fleet.values() for i in group]
    for fault in plan:
        await asyncio.sleep(rng.uniform(1.0, 3.0))
        started = time.monotonic()
        kind, _, svc = fault.partition(":")
        affected = everyone
        if kind == "kill":
            victim = rng.choice(fleet[svc])
            victim.kill()
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            victim.start()
            affected = [victim]
            detail = victim.name
        elif kind == "broker-restart":
            await asyncio.to_thread(infra.run, "kafka-restart")
            detail = "broker"
        elif kind == "pg-immediate-stop":
            await asyncio.to_thread(infra.run, "pg-crash")
            await asyncio.sleep(2.0)
            await asyncio.to_thread(infra.run, "up")
            detail = "postgresql"
        else:  # a paused instance loses its partitions, then comes back
            victim = rng.choice(fleet[rng.choice(SERVICES)])
            victim.signal(signal.SIGSTOP)
            await asyncio.sleep(s.session_timeout_s * 1.5)
            victim.signal(signal.SIGCONT)
            affected = [victim]
            detail = victim.name
        try:
            recovery: float | None = round(await ready(http, affected, within=300), 2)
        except RuntimeError as exc:  # still behind: measured, and the final checks decide
            print(f"chaos: {exc}", flush=True)
            recovery = None
        run.faults.append(
            {
                "fault": kind,
                "target": detail,
                "seconds_to_ready": round(time.monotonic() - started, 2),
                "recovery_s": recovery,
            }
        )
        state = "ready again" if recovery is not None else "still not ready"
        print(
            f"chaos: {len(run.faults)}/{len(plan)} {kind} {detail}: {state} after"
            f" {run.faults[-1]['seconds_to_ready']} s; tickets acknowledged"
            f" {len(run.acknowledged)}, completed {len(run.completed)}",
            flush=True,
        )
    load_done.set()


async def move_clocks(client: Client, stop: asyncio.Event) -> None:
    """An hour of business time every few seconds on every service (shared per database)."""
    while not stop.is_set():
        for svc in SERVICES:
            with contextlib.suppress(TimeoutError):
                await client.call(svc, "POST", "/admin/clock/advance", {"hours": 1}, deadline=30)
        await asyncio.sleep(3.0)


# -- checks ----------------------------------------------------------------------------------


async def counts_by_type(s: Settings, service: str) -> dict[str, Counter[str]]:
    conn = await asyncpg.connect(f"{s.pg_dsn}/repairline_{service}")
    try:
        rows = await conn.fetch("select stream_id, event_type, envelope from events")
    finally:
        await conn.close()
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        subject = json.loads(r["envelope"]).get("subject") or r["stream_id"]
        out[r["event_type"].rsplit(".", 1)[1]][subject] += 1
    return out


async def stream_gaps_and_ids(s: Settings, service: str) -> tuple[int, set[str]]:
    conn = await asyncpg.connect(f"{s.pg_dsn}/repairline_{service}")
    try:
        gaps = await conn.fetchval(
            "select count(*) from (select stream_id, count(*) n, max(stream_version) m"
            " from events group by stream_id) v where n <> m"
        )
        ids = {r["event_id"] for r in await conn.fetch("select event_id from events")}
    finally:
        await conn.close()
    return gaps, ids


async def topic_ids(s: Settings, topic: str) -> list[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=s.bootstrap, group_id=None)
    await consumer.start()
    ids: list[str] = []
    try:
        tps = await topic_partitions(s.bootstrap, [topic])
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    try:
                        ids.append(json.loads(record.value)["id"])
                    except (ValueError, KeyError, TypeError):
                        ids.append(f"unreadable@{record.partition}:{record.offset}")
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return ids


async def over_capacity(s: Settings) -> int:
    """Moments an engineer held more open jobs than his capacity, from dispatch's log."""
    conn = await asyncpg.connect(f"{s.pg_dsn}/repairline_dispatch")
    try:
        rows = await conn.fetch("select event_type, envelope from events order by global_position")
    finally:
        await conn.close()
    holder: dict[str, str] = {}
    open_jobs: Counter[str] = Counter()
    violations = 0
    for r in rows:
        kind = r["event_type"].rsplit(".", 1)[1]
        data = json.loads(r["envelope"])["data"]
        ticket, engineer = data.get("ticket_id"), data.get("engineer_id")
        if kind == "EngineerAssigned" and engineer:
            if ticket in holder:
                open_jobs[holder[ticket]] -= 1
            holder[ticket] = engineer
            open_jobs[engineer] += 1
            violations += open_jobs[engineer] > s.capacity
        elif kind in ("RepairCompleted", "EngineerReleased", "JobCancelled") and ticket in holder:
            open_jobs[holder.pop(ticket)] -= 1
    return violations


async def projection_snapshot(s: Settings, service: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(f"{s.pg_dsn}/repairline_{service}")
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("select tablename from pg_tables where schemaname = 'public'")
            if r["tablename"] not in PLATFORM_TABLES
        ]
        out = {}
        for table in tables:
            rows = await conn.fetch(f'select * from "{table}"')
            out[table] = sorted(json.dumps(dict(r), default=str, sort_keys=True) for r in rows)
    finally:
        await conn.close()
    return out


async def settled(s: Settings, within: float = 300) -> None:
    """Until no service has an unpublished event and every consumer has read its topics."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        busy = 0
        for svc in SERVICES:
            conn = await asyncpg.connect(f"{s.pg_dsn}/repairline_{svc}")
            try:
                busy += await conn.fetchval(
                    "select count(*) from events where published_at is null"
                )
            finally:
                await conn.close()
        if not busy:
            await asyncio.sleep(5)  # consumers' batch windows
            return
        await asyncio.sleep(1)
    raise TimeoutError("the outboxes did not drain")


# -- the run ----------------------------------------------------------------------------------


async def main() -> int:
    s = Settings()
    rng = random.Random(s.seed)
    infra = Infra(s)
    print(f"chaos: {s.tickets} tickets, {s.kills} kills per service, seed {s.seed}", flush=True)
    infra.fresh()
    env = {
        **infra.env,
        "REPAIRLINE_KAFKA_BOOTSTRAP": s.bootstrap,
        "REPAIRLINE_PG_DSN": s.pg_dsn,
        "REPAIRLINE_CLOCK": "simulated",
        "REPAIRLINE_CLOCK_DATE": s.clock_date,
        "REPAIRLINE_LOG_FORMAT": "json",
        "REPAIRLINE_TIMER_POLL_SECONDS": "0.1",
        **issuer.local_environment(ROOT / ".local" / "auth"),  # the bench's own caller:
        "REPAIRLINE_RATE_LIMIT_BURST": "1000000",  # every role, no per-client limit
    }
    token = issuer.mint(ROOT / ".local" / "auth", issuer.Grant("bench", tuple(USER_ROLES)))
    fleet = {
        svc: [
            Instance(svc, i, s.http_base + 10 * n + i, env)
            for i in range(2)  # two instances of every service
        ]
        for n, svc in enumerate(SERVICES)
    }
    everyone = [i for group in fleet.values() for i in group]
    for inst in everyone:  # an instance left by an interrupted run would answer for it
        free_or_explain(inst)
    run = Run()
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        for inst in everyone:
            inst.start()
        try:
            await ready(http, everyone, within=180)
            client = Client(http, fleet)
            for e in range(s.engineers):
                await client.call(
                    "dispatch",
                    "PUT",
                    f"/engineers/eng-chaos-{e:03d}",
                    {
                        "name": f"Engineer {e}",
                        "region": "cn-east",
                        "skills": ["instant_water_heater"],
                        "capacity": s.capacity,
                    },
                )
            load_done, stop_clock = asyncio.Event(), asyncio.Event()
            started = time.monotonic()
            fault_task = asyncio.create_task(faults(s, infra, fleet, http, run, load_done))
            clock_task = asyncio.create_task(move_clocks(client, stop_clock))
            gate = asyncio.Semaphore(s.concurrency)

            async def gated(n: int) -> None:
                # tickets arrive spread over the fault schedule, not all at once
                await asyncio.sleep(n * s.spread_s / s.tickets)
                async with gate:
                    await one_ticket(client, rng, n, run)

            await asyncio.gather(*(gated(n) for n in range(s.tickets)))
            await fault_task
            stop_clock.set()
            await clock_task
            load_seconds = time.monotonic() - started
            for svc in SERVICES:  # make every after-service callback due
                await client.call(svc, "POST", "/admin/clock/advance", {"days": 3})
            print("chaos: load done; waiting for the outboxes and consumers", flush=True)
            await settled(s)
            print("chaos: checking stores, topics and replay", flush=True)
            report = await check(s, run, fleet, load_seconds)
        finally:
            for inst in everyone:
                inst.stop()
            infra.run("down")
    out = ROOT / ".local" / "bench" / "chaos.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print_report(report)
    must_be_zero = (
        "lost",
        "duplicated_effects",
        "over_capacity",
        "version_gaps",
        "missing_from_topic",
        "dead_letters",
        "replay_differences",
    )
    return 1 if any(report["counts"][k] for k in must_be_zero) else 0


async def replay(svc: str, env: dict[str, str]) -> None:
    """Rebuild the service's projections in place. Replay refuses while its consumer groups
    still have members; a stopped instance leaves at once, but a member of an instance
    killed late in the run stays until its session times out."""
    for _ in range(12):
        done = await asyncio.to_thread(
            subprocess.run,
            [str(ROOT / ".venv/bin" / f"repairline-{svc}"), "replay"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode == 0:
            return
        if "live consumers" not in done.stderr:
            break
        await asyncio.sleep(5.0)
    raise RuntimeError(f"{svc} replay failed: {done.stderr[-2000:]}")


async def check(
    s: Settings, run: Run, fleet: dict[str, list[Instance]], load_seconds: float
) -> dict[str, Any]:
    intake = await counts_by_type(s, "intake")
    dispatch = await counts_by_type(s, "dispatch")
    billing = await counts_by_type(s, "billing")
    feedback = await counts_by_type(s, "feedback")
    wanted = {
        "RepairRequested": intake,
        "EngineerAssigned": dispatch,
        "RepairCompleted": dispatch,
        "ChargeAssessed": billing,
        "CallbackScheduled": feedback,
    }
    # a ticket whose visit report was refused (a client failure, listed) has no completion
    after_visit = {"RepairCompleted", "ChargeAssessed", "CallbackScheduled"}
    lost = {
        t
        for t in run.acknowledged
        for kind, c in wanted.items()
        if c[kind][t] == 0 and (t in run.completed or kind not in after_visit)
    }
    duplicated = {
        t
        for t in run.acknowledged
        for kind, c in wanted.items()
        if kind != "EngineerAssigned" and c[kind][t] > 1
    }
    reassigned = {
        t
        for t in run.acknowledged
        if dispatch["EngineerAssigned"][t] > 1 + dispatch["EngineerReleased"][t]
    }
    gaps, missing, dead = 0, 0, 0
    for svc in SERVICES:
        g, stored = await stream_gaps_and_ids(s, svc)
        gaps += g
        on_topic = await topic_ids(s, TOPICS[svc])
        missing += len(stored - set(on_topic))
    dead = len(await topic_ids(s, DEAD_LETTER))
    live = {svc: await projection_snapshot(s, svc) for svc in SERVICES}
    for inst in [i for group in fleet.values() for i in group]:
        inst.stop()
    differences = 0
    for svc in SERVICES:
        await replay(svc, fleet[svc][0].env)
        replayed = await projection_snapshot(s, svc)
        differences += sum(replayed[t] != rows for t, rows in live[svc].items())
    return {
        "settings": vars(s),
        "load_seconds": round(load_seconds, 1),
        "counts": {
            "acknowledged": len(run.acknowledged),
            "completed_by_client": len(run.completed),
            "lost": len(lost),
            "duplicated_effects": len(duplicated) + len(reassigned),
            "over_capacity": await over_capacity(s),
            "version_gaps": gaps,
            "missing_from_topic": missing,
            "dead_letters": dead,
            "replay_differences": differences,
        },
        "client_failures": dict(run.failures),
        "faults": run.faults,
        "lost_examples": sorted(lost)[:5],
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"\nchaos: load ran {report['load_seconds']} s")
    print(f"{'count':<24}{'value':>10}")
    for name, value in report["counts"].items():
        print(f"{name:<24}{value:>10}")
    kinds: dict[str, list[float]] = defaultdict(list)
    for f in report["faults"]:
        kinds[f["fault"]].append(f["seconds_to_ready"])
    print(f"\n{'fault':<22}{'times':>6}{'recovery max s':>16}{'mean s':>9}")
    for kind, seconds in sorted(kinds.items()):
        print(
            f"{kind:<22}{len(seconds):>6}{max(seconds):>16.1f}{sum(seconds) / len(seconds):>9.1f}"
        )
    slow = [f"{f['fault']} {f['target']}" for f in report["faults"] if f["recovery_s"] is None]
    if slow:
        print(f"\nnot ready within 300 s (the checks above ran once all had settled): {slow}")
    if report["client_failures"]:
        print(f"\nclient gave up: {report['client_failures']}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
