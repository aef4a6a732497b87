"""The end-to-end harness: services as processes on the real Kafka and PostgreSQL.

`ServiceProcess` runs one service as it runs in production; `System` runs several of
them on one policy pack, moves their simulated clocks together, drives them over HTTP,
produces other contexts' facts onto their topics, waits for views, and checks that
every projection rebuilt by `replay` from offset 0 equals the live one. The helpers
below it read the broker and the databases directly, and fold events through one
projection in every order.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from repairline_contracts.base import Event
from repairline_contracts.dispatch import (
    ArrivedOnSite,
    EngineerAssigned,
    RepairCompleted,
    RepairRecord,
)
from repairline_contracts.envelope import wrap
from repairline_contracts.intake import CityTier, Customer, Product, RepairRequested, ServiceMode
from repairline_contracts.topics import BILLING_EVENTS, CONTEXT_TOPICS, FEEDBACK_EVENTS
from repairline_platform.eventstore import Delivered
from repairline_platform.kafka import topic_partitions
from repairline_platform.runtime import Runtime, ServiceSpec, is_projection, is_subscribed
from repairline_platform.settings import ServiceSettings
from repairline_rules import BusinessCalendar, load_pack
from tests.support.auth import EVERYONE, bearer

ROOT = Path(__file__).resolve().parents[2]
KAFKA = os.environ.get("REPAIRLINE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PG = os.environ.get("REPAIRLINE_PG_DSN", "postgresql://repairline@127.0.0.1:15432")

ALL_CONTEXT_TOPICS = tuple(CONTEXT_TOPICS.values())
HOME = (30.2741, 120.1551)


# -- the broker and the database ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 30.0, interval: float = 0.1
) -> Any:
    """Poll until `check` returns a truthy value (propagation through Kafka, not business time)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


async def until_reached(
    measure: Callable[[], Awaitable[int]],
    target: int,
    *,
    stall_timeout: float = 60.0,
    interval: float = 0.2,
) -> int:
    """Poll a count until it reaches `target`; fail only when it has stopped growing for
    `stall_timeout` seconds. For bulk work whose total time depends on the machine's load,
    a stall (not slowness) is the defect."""
    best, grew_at = -1, time.monotonic()
    while True:
        value = await measure()
        if value >= target:
            return value
        if value > best:
            best, grew_at = value, time.monotonic()
        elif time.monotonic() - grew_at > stall_timeout:
            raise AssertionError(
                f"stalled at {value} of {target} for {stall_timeout}s with no progress"
            )
        await asyncio.sleep(interval)


def envelope_bytes(
    event: Event,
    *,
    region: str = "cn-east",
    event_id: str | None = None,
    at: datetime | None = None,
    pack: str = "water-heater",
    causation_id: str = "test",
) -> bytes:
    """The event's envelope, naming the pack (and its first version) its ticket is
    decided by, as consumers resolve it."""
    return wrap(
        event,
        event_id=event_id or str(uuid.uuid4()),
        source="/tests",
        time=at or datetime.now(UTC),
        region=region,
        policy_pack=pack,
        policy_version=_first_version(pack),
        correlation_id=str(uuid.uuid4()),
        causation_id=causation_id,
        stream_version=1,
    ).to_bytes()


async def produce(topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@functools.cache
def _first_version(pack: str) -> str:
    return load_pack(pack).version


async def send(
    prefix: str, topic: str, events: Sequence[Event], *, pack: str = "water-heater"
) -> None:
    """Events of another context on its topic, keyed by ticket, one envelope each."""
    messages = [(e.ticket_id.encode(), envelope_bytes(e, pack=pack)) for e in events]
    await produce(prefix + topic, messages)


async def read_topic(topic: str, *, timeout_ms: int = 2000) -> list[Any]:
    """Every record on the topic right now, from offset 0."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await topic_partitions(KAFKA, [topic])
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records: list[Any] = []
        while any([await consumer.position(tp) < end[tp] for tp in tps]):
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            for rs in batch.values():
                records.extend(rs)
        return records
    finally:
        await consumer.stop()


async def end_offsets(topics: list[str]) -> dict[tuple[str, int], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(await topic_partitions(KAFKA, topics))
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def connect(database: str) -> asyncpg.Connection:
    return await asyncpg.connect(f"{PG}/{database}")


@asynccontextmanager
async def scratch_database(purpose: str) -> AsyncIterator[asyncpg.Pool]:
    """A database of its own, nothing migrated yet (the test migrates what it needs),
    dropped afterwards."""
    from repairline_platform import db

    database = f"t{uuid.uuid4().hex[:10]}_{purpose}"
    await db.ensure_database(PG, database)
    pool = await db.create_pool(f"{PG}/{database}", min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()
        await drop_database(database)


async def drop_database(database: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(f'drop database if exists "{database}" with (force)')
    finally:
        await conn.close()


def database_of(prefix: str, service: str) -> str:
    return f"{prefix.rstrip('.')}_{service}"


# -- one service as a process ------------------------------------------------------------


class ServiceProcess:
    """One service as its own OS process, as it runs in production."""

    def __init__(
        self, name: str, *, prefix: str, database: str, extra_env: dict[str, str] | None = None
    ):
        self.name = name
        self.port = free_port()
        self.database = database
        self.log_path = ROOT / ".local" / "test-logs" / f"{prefix.rstrip('.')}-{name}.log"
        self.env = {
            **os.environ,
            "REPAIRLINE_KAFKA_BOOTSTRAP": KAFKA,
            "REPAIRLINE_PG_DSN": PG,
            "REPAIRLINE_TOPIC_PREFIX": prefix,
            "REPAIRLINE_DATABASE": database,
            "REPAIRLINE_HTTP_PORT": str(self.port),
            "REPAIRLINE_CLOCK": "simulated",
            "REPAIRLINE_LOG_FORMAT": "json",
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60.0) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / f"repairline-{self.name}"), "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                status, _ = self.request("GET", "/readyz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} not ready in {timeout}s: {self.log_path.read_text()[-3000:]}"
        )

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = EVERYONE
    ) -> tuple[int, Any]:
        """One call with `token` (by default one holding every user role; None: none)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(bearer(token) if token else {})}
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """The service's command line (`replay`, `clock-advance`, ...) on its settings."""
        return subprocess.run(
            [str(ROOT / ".venv" / "bin" / f"repairline-{self.name}"), *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def replay(self) -> subprocess.CompletedProcess[str]:
        return self.run("replay")


def replay_aside(service: ServiceProcess) -> subprocess.CompletedProcess[str]:
    """Every projection of the running service rebuilt from offset 0 into the schema
    `replayed` of its database, by the operators' `repairline replay --until`."""
    return subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "repairline"),
            "replay",
            "--service",
            service.name,
            "--until",
            EVERYTHING_UNTIL,
            "--schema",
            REPLAYED_SCHEMA,
        ],
        env={**os.environ, **service.env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def admin_clock_advance(
    service: ServiceProcess, seconds: float
) -> subprocess.CompletedProcess[str]:
    """Move a running service's simulated clock with the operators' admin command."""
    return subprocess.run(
        [
            str(ROOT / ".venv/bin/python"),
            "-m",
            "repairline_platform.admin",
            "clock-advance",
            "--seconds",
            str(seconds),
            service.url,
        ],
        env={**os.environ, "REPAIRLINE_TOKEN": EVERYONE},
        capture_output=True,
        text=True,
        timeout=30,
    )


async def poll(
    service: ServiceProcess,
    path: str,
    check: Callable[[Any], Any] = lambda body: True,
    *,
    interval: float = 0.1,
) -> Any:
    """The answer to a GET once it is 200 and `check` holds."""

    async def attempt() -> Any:
        status, body = service.request("GET", path)
        return body if status == 200 and check(body) else None

    return await eventually(attempt, timeout=60, interval=interval)


# -- what a service declares -------------------------------------------------------------


def spec_of(name: str) -> ServiceSpec:
    module = __import__(f"repairline_{name}.main", fromlist=["SPEC"])
    return module.SPEC


def declared_handlers(spec: ServiceSpec, pack: str = "water-heater") -> list[Any]:
    """The handlers the service's composition root builds (no storage, no broker)."""
    rt = Runtime(spec, ServiceSettings(kafka_bootstrap=KAFKA, pg_dsn=PG, policy_pack=pack))
    rt.load_policy()
    return list(spec.handlers(rt))


def declared_projections(spec: ServiceSpec) -> dict[str, tuple[str, ...]]:
    """Every projection the service declares, by consumer name, with its tables."""
    return {
        f"{spec.name}.{h.name}": tuple(h.tables)
        for h in declared_handlers(spec)
        if is_projection(h)
    }


def declared_tables(spec: ServiceSpec) -> list[str]:
    return [t for tables in declared_projections(spec).values() for t in tables]


# -- several services on one pack --------------------------------------------------------


class System:
    """Services of one policy pack as processes, their simulated clocks moved together."""

    def __init__(
        self,
        prefix: str,
        pack: str,
        names: Sequence[str] = ("intake", "dispatch", "billing", "feedback"),
        *,
        timer_poll_seconds: float = 0.1,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.prefix = prefix
        self.pack = load_pack(pack)
        self.zone = ZoneInfo(self.pack.timezone)
        env = {
            "REPAIRLINE_POLICY_PACK": pack,
            "REPAIRLINE_TIMER_POLL_SECONDS": str(timer_poll_seconds),
            **(extra_env or {}),
        }
        self.services = {
            name: ServiceProcess(
                name, prefix=prefix, database=database_of(prefix, name), extra_env=env
            )
            for name in names
        }
        self.day: date | None = None
        self.versions: dict[str, int] = {}
        self._serial = 0

    @property
    def intake(self) -> ServiceProcess:
        return self.services["intake"]

    @property
    def dispatch(self) -> ServiceProcess:
        return self.services["dispatch"]

    @property
    def billing(self) -> ServiceProcess:
        return self.services["billing"]

    @property
    def feedback(self) -> ServiceProcess:
        return self.services["feedback"]

    # -- processes ------------------------------------------------------------------------

    def start(self) -> System:
        for service in self.services.values():
            service.start()
        return self

    def stop(self) -> None:
        for service in self.services.values():
            service.terminate()

    async def drop(self) -> None:
        for service in self.services.values():
            await drop_database(service.database)

    # -- clocks ---------------------------------------------------------------------------

    def now(self) -> datetime:
        first = next(iter(self.services.values()))
        status, body = first.request("GET", "/admin/clock")
        assert status == 200, body
        return datetime.fromisoformat(body["now"])

    def advance(self, delta: timedelta) -> None:
        for service in self.services.values():
            status, body = service.request(
                "POST", "/admin/clock/advance", {"seconds": delta.total_seconds()}
            )
            assert status == 200, body

    def at(self, moment: datetime | str, *, days: int = 0) -> datetime:
        """Move every clock to `moment` (never back) and return it; a "HH:MM" is a local
        time of the business day (`begin_business_day`). All clocks move by the same
        amount, so they keep showing the same time: each context stamps its events with
        its own clock, and a view orders them by those times."""
        target = self.local(moment, days=days) if isinstance(moment, str) else moment
        now = self.now()
        if target > now:
            self.advance(target - now)
        return target

    def begin_business_day(self) -> System:
        """The next day that, with the two days after, is a Monday-to-Friday working day,
        from 07:30: a day's tests book and reschedule up to two days ahead, so all three
        must be working days whatever date the clock shows (see REPAIRLINE_CLOCK_DATE)."""
        calendar = BusinessCalendar.from_pack(self.pack)
        day = self.now().astimezone(self.zone).date() + timedelta(days=1)
        while not all(
            d.weekday() < 5 and calendar.is_working_day(d)
            for d in (day + timedelta(days=n) for n in range(3))
        ):
            day += timedelta(days=1)
        self.day = day
        self.at("07:30")
        return self

    def local(self, clock: str, *, days: int = 0) -> datetime:
        assert self.day is not None, "begin_business_day first"
        hours, minutes = (int(x) for x in clock.split(":"))
        return datetime.combine(
            self.day + timedelta(days=days), clock_time(hours, minutes), self.zone
        )

    def window(self, start: str, end: str, *, days: int = 0) -> dict[str, str]:
        return {
            "start": self.local(start, days=days).isoformat(),
            "end": self.local(end, days=days).isoformat(),
        }

    def slot(self, start: str, end: str, *, days: int = 0) -> dict[str, str]:
        """A window for dispatch's bodies: the same shape as intake's."""
        return self.window(start, end, days=days)

    # -- HTTP -----------------------------------------------------------------------------

    def ok(self, service: ServiceProcess, method: str, path: str, body: Any = None) -> Any:
        status, answer = service.request(method, path, body)
        assert status in (200, 201), (method, path, status, answer)
        return answer

    def call(
        self, service: ServiceProcess, path: str, body: dict[str, Any] | None, expect: int
    ) -> dict[str, Any]:
        status, answer = service.request("POST", path, body or {})
        assert status == expect, (path, answer)
        return answer

    def cmd(
        self, path: str, body: dict[str, Any] | None = None, *, expect: int = 200
    ) -> dict[str, Any]:
        """A command to dispatch."""
        return self.call(self.dispatch, path, body, expect)

    def icmd(
        self, path: str, body: dict[str, Any] | None = None, *, expect: int = 200
    ) -> dict[str, Any]:
        """A command to intake."""
        return self.call(self.intake, path, body, expect)

    def create(self, body: dict[str, Any], *, expect: int = 201) -> dict[str, Any]:
        return self.call(self.intake, "/tickets", body, expect)

    def serial(self) -> str:
        self._serial += 1
        return f"SN{self.prefix[:6].upper()}{self._serial:04d}"

    def body(self, line: str, **overrides: Any) -> dict[str, Any]:
        """A repair request for intake; nested dicts in `overrides` are merged."""
        spot = self._serial % 7
        body: dict[str, Any] = {
            "channel": "hotline",
            "region": "cn-east",
            "city_tier": "provincial_capital",
            "service_mode": "on_site",
            "customer": {
                "name": "Li Wei",
                "mobile": "+86 139 0000 0000",
                "address": "88 Example Road, Hangzhou",
            },
            "product": {
                "line": line,
                "model": "M-1",
                "serial_no": self.serial(),
                "purchase_date": "2024-03-01",
            },
            "fault_description": "does not start",
            "customer_wants": "repair",
            "fault_kind": "hardware",
            "location": {"lat": HOME[0] + 0.004 * spot, "lon": HOME[1] + 0.003 * spot},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(body.get(key), dict):
                body[key] = {**body[key], **value}
            else:
                body[key] = value
        return body

    def engineer(self, engineer_id: str, skills: list[str], n: int, **extra: Any) -> None:
        body = {
            "name": f"Engineer {n}",
            "region": "cn-east",
            "skills": skills,
            "capacity": 8,
            "home": {"lat": HOME[0] + 0.01 * n, "lon": HOME[1] - 0.01 * n},
            **extra,
        }
        status, answer = self.dispatch.request("PUT", f"/engineers/{engineer_id}", body)
        assert status == 200, answer

    # -- waiting for views ----------------------------------------------------------------

    async def poll(
        self,
        service: ServiceProcess,
        path: str,
        check: Callable[[Any], Any] = lambda body: True,
        *,
        interval: float = 0.1,
    ) -> Any:
        return await poll(service, path, check, interval=interval)

    async def board(self, ticket_id: str, check: Any = lambda b: True) -> dict[str, Any]:
        return await self.poll(self.dispatch, f"/tickets/{ticket_id}", check, interval=0.05)

    async def view(self, ticket_id: str, check: Any = lambda b: True) -> dict[str, Any]:
        return await self.poll(self.intake, f"/tickets/{ticket_id}", check, interval=0.05)

    async def boards(self, ticket_ids: list[str], check: Any) -> dict[str, dict[str, Any]]:
        return {t: await self.board(t, check) for t in ticket_ids}

    async def alert(self, ticket_id: str, kind: str) -> dict[str, Any]:
        async def attempt() -> Any:
            _, alerts = self.dispatch.request("GET", f"/alerts?kind={kind}&ticket_id={ticket_id}")
            assert all(a["ticket_id"] == ticket_id and a["kind"] == kind for a in alerts)
            return alerts[0] if alerts else None

        return await eventually(attempt, timeout=60, interval=0.05)

    async def text(self, service: ServiceProcess, path: str) -> str:
        """A non-JSON answer (CSV), read off the event loop."""

        def read() -> str:
            request = urllib.request.Request(service.url + path, headers=bearer())
            with urllib.request.urlopen(request, timeout=15) as resp:
                return resp.read().decode()

        return await asyncio.to_thread(read)

    # -- other contexts' facts, produced onto their topics --------------------------------

    async def emit(self, *events: Event) -> None:
        """Typed events, each ticket's stream versions counted up."""
        by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
        for event in events:
            version = self.versions.get(event.ticket_id, 0) + 1
            self.versions[event.ticket_id] = version
            envelope = wrap(
                event,
                event_id=str(uuid.uuid4()),
                source="/tests",
                time=datetime.now(UTC),
                region="cn-east",
                policy_pack=self.pack.id,
                policy_version=self.pack.version,
                correlation_id=str(uuid.uuid4()),
                causation_id="test",
                stream_version=version,
            )
            by_topic.setdefault(self.prefix + event.topic, []).append(
                (event.ticket_id.encode(), envelope.to_bytes())
            )
        for topic, messages in by_topic.items():
            await produce(topic, messages)

    async def foreign(self, topic: str, event_type: str, data: dict[str, Any]) -> None:
        """An event of another context on its topic, as plain CloudEvents JSON."""
        envelope = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/tests",
            "type": event_type,
            "time": self.now().isoformat(),
            "subject": data["ticket_id"],
            "datacontenttype": "application/json",
            "schemaversion": 1,
            "region": "cn-east",
            "policypack": self.pack.id,
            "policyversion": self.pack.version,
            "correlationid": str(uuid.uuid4()),
            "causationid": "tests",
            "streamversion": 1,
            "data": data,
        }
        await produce(
            self.prefix + topic, [(data["ticket_id"].encode(), json.dumps(envelope).encode())]
        )

    async def quote_accepted(self, ticket_id: str) -> None:
        await self.foreign(
            BILLING_EVENTS,
            "repairline.billing.QuoteAccepted",
            {
                "ticket_id": ticket_id,
                "quote_id": f"q-{ticket_id[:8]}",
                "total_fen": 5000,
                "accepted_at": self.now().isoformat(),
            },
        )

    async def quote_refused(self, ticket_id: str) -> None:
        await self.foreign(
            BILLING_EVENTS,
            "repairline.billing.QuoteRefused",
            {
                "ticket_id": ticket_id,
                "quote_id": f"q-{ticket_id[:8]}",
                "refused_at": self.now().isoformat(),
                "reason": "too expensive",
            },
        )

    async def revisit_requested(self, ticket_id: str) -> None:
        await self.foreign(
            FEEDBACK_EVENTS,
            "repairline.feedback.RevisitRequested",
            {
                "ticket_id": ticket_id,
                "case_id": f"case-{ticket_id[:8]}",
                "reason": "still leaking",
                "requested_at": self.now().isoformat(),
            },
        )

    async def request(
        self,
        *,
        line: str,
        city_tier: str,
        purchase_date: date | None,
        at: datetime,
        name: str = "Customer",
        organisation: str | None = None,
        serial_no: str | None = None,
        service_mode: str = "on_site",
    ) -> str:
        """Intake's RepairRequested for a new ticket; its id."""
        ticket_id = str(uuid.uuid4())
        await self.emit(
            RepairRequested(
                ticket_id=ticket_id,
                service_request_no=f"SR-{ticket_id[:8]}",
                repair_order_no=f"RO-{ticket_id[:8]}",
                channel="hotline",
                region="cn-east",
                city_tier=CityTier(city_tier),
                service_mode=ServiceMode(service_mode),
                customer=Customer(
                    name=name,
                    mobile="13900000000",
                    address="1 Test Road",
                    organisation=organisation,
                ),
                product=Product(
                    line=line,
                    model="M-1",
                    serial_no=serial_no or f"SN{ticket_id[:8]}",
                    purchase_date=purchase_date,
                ),
                fault_description="does not work",
                needs_verification=False,
                requested_at=at,
            )
        )
        return ticket_id

    async def assign(
        self, ticket_id: str, engineer_id: str, at: datetime, *, service_point: str | None = None
    ) -> None:
        fields: dict[str, Any] = {}
        if service_point is not None:
            fields["service_point_id"] = service_point
        await self.emit(
            EngineerAssigned(
                ticket_id=ticket_id,
                engineer_id=engineer_id,
                region="cn-east",
                skill="any",
                open_jobs_before=0,
                reason="test",
                assigned_at=at,
                **fields,
            )
        )

    async def arrive(self, ticket_id: str, engineer_id: str, at: datetime) -> None:
        await self.emit(ArrivedOnSite(ticket_id=ticket_id, engineer_id=engineer_id, arrived_at=at))

    async def complete(
        self,
        ticket_id: str,
        engineer_id: str,
        at: datetime,
        *,
        parts_replaced: tuple[str, ...] | None = None,
    ) -> None:
        fields: dict[str, Any] = {}
        if parts_replaced is not None:
            fields["repair_record"] = RepairRecord(
                fault_found="worn parts", parts_replaced=parts_replaced
            )
        await self.emit(
            RepairCompleted(
                ticket_id=ticket_id,
                engineer_id=engineer_id,
                completed_at=at,
                resolution="fixed",
                **fields,
            )
        )

    # -- replay ---------------------------------------------------------------------------

    async def replay_equals_live(
        self, tables: dict[str, Sequence[str]] | None = None
    ) -> dict[str, int]:
        """Wait until every service has published, consumed and fired all it can, stop
        them, rebuild their projections from offset 0 with `replay`, and compare each
        table with the live one. `tables` per service defaults to every table of every
        projection the service declares. Returns the rows per table."""
        chosen = {
            name: list(tables[name] if tables is not None else declared_tables(spec_of(name)))
            for name in self.services
            if tables is None or name in tables
        }
        live: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
        for name, names in chosen.items():
            await settled(self.services[name], self.prefix)
            live[name] = await snapshot(self.services[name].database, names)
        for name, names in chosen.items():
            service = self.services[name]
            assert service.terminate() == 0
            done = service.replay()
            assert done.returncode == 0, done.stderr
            assert_same(live[name], await snapshot(service.database, names), service.name)
        counts: dict[str, int] = {}
        for rows in live.values():
            counts.update({table: len(r) for table, r in rows.items()})
        return counts


# -- replay, for one service or several --------------------------------------------------


async def settled(service: ServiceProcess, prefix: str, *, timeout: float = 60) -> None:
    """Everything the service recorded is published, each of its subscribed handlers has
    consumed every topic it reads to the end, and every timer due by its clock fired."""
    handlers = [h for h in declared_handlers(spec_of(service.name)) if is_subscribed(h)]
    reads = {f"{service.name}.{h.name}": set(h.topics) for h in handlers}
    topics = sorted({prefix + t for ts in reads.values() for t in ts})

    async def caught_up() -> bool:
        ends = await end_offsets(topics)
        db = await connect(service.database)
        try:
            if await db.fetchval("select count(*) from events where published_at is null"):
                return False
            _, clock = service.request("GET", "/admin/clock")
            if await db.fetchval(
                "select count(*) from timers where fired_at is null and due_at <= $1",
                datetime.fromisoformat(clock["now"]),
            ):
                return False
            for consumer, consumed in reads.items():
                rows = await db.fetch(
                    "select topic, partition, next_offset from consumer_offsets"
                    " where consumer = $1",
                    consumer,
                )
                stored = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
                for (topic, partition), offset in ends.items():
                    wanted = topic[len(prefix) :] in consumed
                    if wanted and offset and stored.get((topic, partition), 0) < offset:
                        return False
            return True
        finally:
            await db.close()

    await eventually(caught_up, timeout=timeout, interval=0.2)


async def snapshot(database: str, tables: Iterable[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows, in an order that does not depend on how they were written."""
    db = await connect(database)
    try:
        out = {}
        for table in tables:
            rows = await db.fetch(f"select * from {table}")
            out[table] = sorted((tuple(r.values()) for r in rows), key=repr)
        return out
    finally:
        await db.close()


def assert_same(
    live: dict[str, list[tuple[Any, ...]]], replayed: dict[str, list[tuple[Any, ...]]], name: str
) -> None:
    for table, rows in live.items():
        if replayed[table] != rows:
            live_only = [r for r in rows if r not in replayed[table]]
            replayed_only = [r for r in replayed[table] if r not in rows]
            raise AssertionError(
                f"{name}.{table} differs after replay:"
                f" live {live_only[:3]} replayed {replayed_only[:3]}"
            )


REPLAYED_SCHEMA = "replayed"
EVERYTHING_UNTIL = "2100-01-01T00:00:00+00:00"


async def replay_every_projection(service: ServiceProcess, prefix: str) -> Replayed:
    """One service's replays, each compared with every live projection it declares: first
    beside the running service into a schema of its own (`repairline replay --until`),
    then, the service stopped, in place (`replay`). The result says what was compared,
    for the coverage check."""
    spec = spec_of(service.name)
    projections = declared_projections(spec)
    tables = [t for ts in projections.values() for t in ts]
    await settled(service, prefix)
    live = await snapshot(service.database, tables)
    aside = replay_aside(service)
    assert aside.returncode == 0, aside.stderr
    tables_aside = [f"{REPLAYED_SCHEMA}.{t}" for t in tables]
    rebuilt = await snapshot(service.database, tables_aside)
    assert_same(live, dict(zip(tables, rebuilt.values(), strict=True)), f"{service.name} aside")
    assert service.terminate() == 0
    done = service.replay()
    assert done.returncode == 0, done.stderr
    assert_same(live, await snapshot(service.database, tables), service.name)
    return Replayed(projections, {t: len(rows) for t, rows in live.items()}, live, done.stdout)


class Replayed:
    """What one service's replay compared: its projections, rows per table, the output."""

    def __init__(
        self,
        projections: dict[str, tuple[str, ...]],
        counts: dict[str, int],
        live: dict[str, list[tuple[Any, ...]]],
        stdout: str,
    ) -> None:
        self.projections = projections
        self.counts = counts
        self.live = live
        self.stdout = stdout

    def assert_covers(self, spec: ServiceSpec, *, filled_elsewhere: Iterable[str] = ()) -> None:
        """Every projection the service declares was compared, each table had rows (but
        those named, whose rows another test's flow fills and replays), and the replay
        rebuilt each projection by name."""
        assert set(self.projections) == set(declared_projections(spec))
        empty = {t for t, n in self.counts.items() if not n}
        assert empty <= set(filled_elsewhere), f"no rows to compare in {sorted(empty)}"
        for name in self.projections:
            assert name in self.stdout, f"{name} not replayed"


# -- projections folded in process ---------------------------------------------------------


@asynccontextmanager
async def storage(
    spec: ServiceSpec, prefix: str, pack: str = "water-heater"
) -> AsyncIterator[Runtime]:
    """A service's runtime with its database migrated, no broker: for folding events
    through its projections by hand. The database is dropped afterwards."""
    rt = Runtime(
        spec,
        ServiceSettings(
            kafka_bootstrap=KAFKA,
            pg_dsn=PG,
            topic_prefix=prefix,
            database=database_of(prefix, spec.name),
            clock="simulated",
            policy_pack=pack,
        ),
    )
    await rt.open_storage()
    try:
        yield rt
    finally:
        await rt.pool.close()
        await drop_database(rt.database)


def delivered(
    events: list[Event], *, at: datetime, pack: Any, causation_id: str = "c"
) -> list[Delivered]:
    """Events as a consumer receives them, one stream version each."""
    return [
        Delivered(
            wrap(
                e,
                event_id=str(uuid.uuid4()),
                source="/tests",
                time=at,
                region="cn-east",
                policy_pack=pack.id,
                policy_version=pack.version,
                correlation_id="c",
                causation_id=causation_id,
                stream_version=n,
            ),
            e,
        )
        for n, e in enumerate(events, 1)
    ]


async def every_order_gives_the_same_rows(
    rt: Runtime, handler: Any, items: list[Delivered], orders: Iterable[Sequence[int]]
) -> None:
    """The projection's tables hold the same rows whatever order the items come in."""
    snapshots = set()
    for order in orders:
        async with rt.unit_of_work() as uow:
            for table in handler.tables:
                await uow.conn.execute(f"truncate {table}")
            for i in order:
                await handler.handle(uow, [items[i]])
            rows = []
            for table in handler.tables:
                rows += [
                    tuple(r.values())
                    for r in await uow.conn.fetch(f"select * from {table} order by 1")
                ]
        snapshots.add(repr(rows))
    assert len(snapshots) == 1


def orders(n: int, limit: int = 24) -> list[tuple[int, ...]]:
    """A spread of the permutations of `n` items, at most `limit` of them."""
    return list(itertools.islice(itertools.permutations(range(n)), 0, None, 5))[:limit]


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def days(n: float) -> timedelta:
    return timedelta(days=n)
