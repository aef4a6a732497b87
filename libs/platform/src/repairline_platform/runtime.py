"""One composition root shape for every service.

A service describes itself with a `ServiceSpec` (name, migrations, handlers, timer
handlers, HTTP routes); `Runtime` wires settings, pool, clock, policy pack, producer,
outbox relay, timers and the FastStream broker, all started in the lifespan.
Nothing connects at import.
"""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers, MutableHeaders

from repairline_contracts.topics import ALL_TOPICS, DEAD_LETTER
from repairline_platform import (
    access,
    bounds,
    commands,
    db,
    housekeeping,
    idempotency,
    metrics,
    packs_api,
    tokens,
    tracing,
)
from repairline_platform.clock import Clock, SimulatedClock, SystemClock
from repairline_platform.consumer import (
    InboxConsumer,
    KafkaOffsetsHint,
    Redriver,
    SeekToStoredOffsets,
    start_position,
    start_time,
    wait_backoff,
)
from repairline_platform.eventstore import Handler, Origin, UnitOfWork
from repairline_platform.health import liveness, readiness, supervise
from repairline_platform.http import install_error_handlers
from repairline_platform.kafka import broker_security, ensure_topics, security_options
from repairline_platform.logging import configure_logging, get_logger, get_stdlib_logger
from repairline_platform.metrics import ServiceMetrics
from repairline_platform.policy import current_policy
from repairline_platform.ratelimit import RateLimit
from repairline_platform.relay import OutboxRelay, make_producer
from repairline_platform.settings import ServiceSettings
from repairline_platform.timers import TimerHandler, TimerPoller
from repairline_platform.tracing import Tracing
from repairline_rules import refusals
from repairline_rules.packview import SECTIONS

log = get_logger(__name__)

CLOCK_CHANNEL = "repairline_clock"
HEARTBEAT_MS = 1000  # the consumer session times out after 10 s, as by default
SETTLING_FETCH_BYTES = 1 << 20  # a settling consumer's fetch returns early at a megabyte
KAFKA_COMMIT_EVERY_S = 1.0  # a consumer's offsets committed to Kafka: a hint for its tools


@dataclass
class ServiceSpec:
    name: str
    default_port: int
    migrations: Sequence[db.Migration]
    handlers: Callable[[Runtime], Sequence[Handler]]
    routes: Callable[[Runtime], APIRouter]
    timer_handlers: Callable[[Runtime], Mapping[str, TimerHandler]] = lambda _: {}
    description: str = ""
    permissions: access.Permissions | None = None
    """The service's permission table (the one its routes declare theirs from)."""
    pack_sections: tuple[str, ...] = SECTIONS
    """The sections of its policy packs the service answers on `GET /packs/{pack_id}`."""


# a pack whose calendar lists no holidays this many days ahead is warned of at start
# (`repairline_pack_calendar_days_left` says it at every scrape)
CALENDAR_WARNING_DAYS = 60


def is_projection(handler: Handler) -> bool:
    return hasattr(handler, "tables")


def is_subscribed(handler: Handler) -> bool:
    """False for a copy of another context's facts that the service's reactions apply
    with the events they react to (one consumer per topic per service keeps dead letters
    single); replay rebuilds it like any other projection."""
    return getattr(handler, "subscribed", True)


@dataclass
class Runtime:
    spec: ServiceSpec
    settings: ServiceSettings
    clock: Clock = field(init=False)
    pool: asyncpg.Pool = field(init=False)
    packs: Any = field(init=False)  # PackBook: every version of every pack it runs
    routing: Any = field(init=False)  # PackRouting: a new ticket's pack
    origin: Origin = field(init=False)
    handlers: Sequence[Handler] = field(init=False, default=())
    relay: OutboxRelay | None = None
    timers: TimerPoller | None = None
    broker: KafkaBroker | None = None
    ready: bool = False
    stopping: bool = False
    inboxes: list[InboxConsumer] = field(default_factory=list)
    redriver: Redriver | None = None
    metrics: ServiceMetrics | None = None
    tracing: Tracing | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    def consumer_name(self, handler: Handler) -> str:
        return f"{self.spec.name}.{handler.name}"

    def topic(self, canonical: str) -> str:
        return self.settings.topic(canonical)

    @property
    def database(self) -> str:
        return self.settings.database or f"repairline_{self.spec.name}"

    # -- policy --------------------------------------------------------------------------

    def pack_now(self, now: datetime) -> Any:
        """The pack that decides a command at `now`: the bound ticket's pack and version
        (with later versions' open-ticket sections in force by then), or, for what no
        ticket names (a region's day, a new ticket before routing), the default pack's
        version in force."""
        policy = current_policy()
        if policy is not None:
            return self.packs.for_ticket(policy.pack, policy.version, now)
        return self.packs.opened_at(self.routing.default, now)

    def load_policy(self) -> None:
        """Every pack and the mapping, checked (a bad pack or mapping stops the start)."""
        from repairline_rules import load_deployment

        self.packs, self.routing = load_deployment(
            self.settings.policy_pack,
            self.settings.policy_packs,
            self.settings.pack_routing,
            known_regions=self.settings.known_regions,
        )
        first = self.packs.versions(self.routing.default)[0]
        self.origin = Origin(
            source=f"/{self.spec.name}",
            region=self.settings.region,
            policy_pack=first.id,
            policy_version=str(first.version),
        )

    def calendar_days_left(self, now: datetime) -> dict[str, int]:
        """Per pack, the days from `now` (the pack's local date) to the first day whose
        public holidays the version in force does not list: a working-time count that
        reaches it is refused until the pack lists that year. Packs whose calendars know
        every year are left out."""
        from repairline_rules.calendar import BusinessCalendar

        left = {}
        for pack_id in self.packs.ids():
            pack = self.packs.opened_at(pack_id, now)
            today = now.astimezone(pack.zone).date()
            first = BusinessCalendar.from_pack(pack).first_uncovered(today)
            if first is not None:
                left[pack_id] = (first - today).days
        return left

    def pack_opened(self, pack_id: str, now: datetime) -> Any:
        """The version of `pack_id` a ticket opened at `now` is decided by."""
        return self.packs.opened_at(pack_id, now)

    # -- storage -------------------------------------------------------------------------

    async def open_storage(self) -> None:
        """Database, migrations, clock offset and policy packs: everything but Kafka."""
        self.load_policy()
        pg = db.connect_options(self.settings)  # bad PostgreSQL settings stop the start here
        await db.ensure_database(self.settings.pg_dsn, self.database, **pg)
        self.pool = await db.create_pool(
            self.settings.dsn_for(f"repairline_{self.spec.name}"),
            max_size=self.settings.pg_pool_size,
            **pg,
        )
        async with self.pool.acquire() as conn:
            applied = await db.migrate(conn, self.spec.migrations)
        if applied:
            log.info("migrations applied", migrations=applied)
        if self.settings.clock == "simulated":
            offset_us = await self.pool.fetchval("select offset_us from clock_state where id = 1")
            if offset_us is None and self.settings.clock_date is not None:
                today = SystemClock().now().date()
                offset_us = (self.settings.clock_date - today).days * 86_400_000_000
                await self.pool.execute(
                    "insert into clock_state (id, offset_us) values (1, $1)"
                    " on conflict (id) do nothing",
                    offset_us,
                )
            self.clock = SimulatedClock(timedelta(microseconds=offset_us or 0))
        else:
            self.clock = SystemClock()
        self.handlers = list(self.spec.handlers(self))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        inline = [h for h in self.handlers if self._applied_at_append(h)]
        async with self.pool.acquire(timeout=db.ACQUIRE_TIMEOUT) as conn, conn.transaction():
            uow = UnitOfWork(
                conn=conn,
                clock=self.clock,
                origin=self.origin,
                topic_for=self.topic,
                inline=inline,  # type: ignore[arg-type]
                consumer_of=self.consumer_name,
            )
            yield uow
        if uow.claim is not None:
            uow.claim.committed = True
        if uow.appended and self.metrics is not None:
            self.metrics.appended(len(uow.appended))
        if uow.appended and self.relay is not None:
            self.relay.wake()

    def _applied_at_append(self, handler: Handler) -> bool:
        """A projection of the service's own topic: applied with each event as it is
        appended, in the append's transaction (its consumer mostly finds them done)."""
        own = self._own_topic()
        return own is not None and is_projection(handler) and own in handler.topics

    def _fetching(self, handler: Handler) -> dict[str, int]:
        """How the consumer of `handler` fetches. A projection that reads only the
        service's own topic is applied as each event is appended; its consumer confirms
        that (or applies what another version of the service appended without it), and
        nobody waits for that: it fetches in bulk, once `settle_wait_ms` passed or a
        partition holds a megabyte, rather than a few records at a time. Every other
        consumer is sent each record as soon as the broker has it."""
        own = self._own_topic()
        if self._applied_at_append(handler) and set(handler.topics) == {own}:
            return {
                "fetch_min_bytes": SETTLING_FETCH_BYTES,
                "fetch_max_wait_ms": self.settings.settle_wait_ms,
            }
        return {}

    def _own_topic(self) -> str | None:
        from repairline_contracts.topics import CONTEXT_TOPICS

        return CONTEXT_TOPICS.get(self.spec.name)

    async def advance_clock(self, delta: timedelta) -> None:
        """Move the simulated clock of every instance sharing this database by `delta`."""
        if not isinstance(self.clock, SimulatedClock):
            raise RuntimeError("the clock is not simulated (set REPAIRLINE_CLOCK=simulated)")
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        if self.clock.now() + delta >= bounds.LATEST:
            raise ValueError(f"the clock would pass the year {bounds.LAST_YEAR}")
        async with self.pool.acquire() as conn, conn.transaction():
            offset_us = await conn.fetchval(
                "insert into clock_state (id, offset_us) values (1, $1) on conflict (id)"
                " do update set offset_us = clock_state.offset_us + $1 returning offset_us",
                delta // timedelta(microseconds=1),
            )
            await conn.execute("select pg_notify($1, $2)", CLOCK_CHANNEL, str(offset_us))
        self.clock.set_offset(timedelta(microseconds=offset_us))

    async def _follow_clock(self, poll_seconds: float = 1.0) -> None:
        """Keep this instance's simulated clock with the one in the database (all replicas)."""
        assert isinstance(self.clock, SimulatedClock)
        clock = self.clock

        def moved(*args: Any) -> None:
            clock.set_offset(timedelta(microseconds=int(args[-1])))

        listener: asyncpg.Connection | None = None
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await asyncpg.connect(
                        self.settings.dsn_for(self.database), **db.connect_options(self.settings)
                    )
                    await listener.add_listener(CLOCK_CHANNEL, moved)
                offset_us = await self.pool.fetchval(
                    "select offset_us from clock_state where id = 1"
                )
                if offset_us is not None:
                    clock.set_offset(timedelta(microseconds=offset_us))
            except asyncio.CancelledError:
                if listener is not None:
                    await listener.close()
                raise
            except Exception:
                log.warning("the shared clock could not be read; trying again")
                listener = None
            await asyncio.sleep(poll_seconds)

    # -- messaging -----------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        security = security_options(s)  # bad Kafka settings stop the start here
        await self.open_storage()
        await ensure_topics(
            s.kafka_bootstrap,
            [self.topic(t) for t in ALL_TOPICS],
            partitions=s.topic_partitions,
            replication=s.topic_replication,
            security=security,
        )
        self.relay = OutboxRelay(
            self.pool,
            lambda: make_producer(s.kafka_bootstrap, f"{s.topic_prefix}{self.name}", security),
            lock_name=self.name,
            batch_size=s.relay_batch_size,
            idle_seconds=s.relay_idle_seconds,
            dead_letter_topic=self.topic(DEAD_LETTER),
            source=f"/{self.name}",
            on_published=self.metrics.published if self.metrics else None,
            tracing=self.tracing,
        )
        timer_handlers = self.spec.timer_handlers(self)
        self.timers = TimerPoller(
            self.unit_of_work, self.clock, timer_handlers, poll_seconds=s.timer_poll_seconds
        )
        self._tasks.append(supervise("relay", self.relay.run, lambda: not self.stopping))
        self._tasks.append(supervise("housekeeping", self._housekeeping, lambda: not self.stopping))
        if isinstance(self.clock, SimulatedClock):
            self._tasks.append(supervise("clock", self._follow_clock, lambda: not self.stopping))
        if timer_handlers:
            self._tasks.append(supervise("timers", self.timers.run, lambda: not self.stopping))
        self.broker = KafkaBroker(
            s.kafka_bootstrap,
            client_id=f"{s.topic_prefix}{self.name}",
            graceful_timeout=s.shutdown_grace_seconds,
            logger=get_stdlib_logger("repairline.broker"),
            security=broker_security(s),
        )
        for handler in self.handlers:
            if is_subscribed(handler):
                await self._subscribe(handler)
        for inbox in self.inboxes:
            await inbox.release_parked()
        self.redriver = Redriver(self.pool, self.inboxes)
        self._tasks.append(supervise("redrive", self.redriver.run, lambda: not self.stopping))
        await self.broker.start()
        self.ready = True
        _freeze_startup_objects()
        log.info("service started", packs=list(self.packs.ids()), default_pack=self.routing.default)
        for pack_id, days in self.calendar_days_left(self.clock.now()).items():
            if days <= CALENDAR_WARNING_DAYS:
                log.warning(
                    "the pack's calendar ends soon: add next year's public holidays",
                    alert="calendar_ending",
                    pack=pack_id,
                    days_left=days,
                )

    async def _housekeeping(self, every_seconds: float = 600.0) -> None:
        """Trim the platform's tables by the policy in `repairline_platform.housekeeping`."""
        while True:
            try:
                trimmed = await housekeeping.trim(
                    self.pool, wall_now=SystemClock().now(), service_now=self.clock.now()
                )
                log.info("housekeeping", **vars(trimmed))
            except Exception:
                log.warning("housekeeping failed; trying again later")
            await asyncio.sleep(every_seconds)

    async def _subscribe(self, handler: Handler) -> None:
        assert self.broker is not None
        s = self.settings
        inbox = InboxConsumer(
            handler,
            consumer_name=self.consumer_name(handler),
            unit_of_work=self.unit_of_work,
            dead_letter=self._dead_lettered,
        )
        inbox.tracing = self.tracing
        inbox.pool = self.pool
        own = self._own_topic()
        if own is not None and self._applied_at_append(handler):
            inbox.applied_at_append = frozenset({self.topic(own)})
        self.inboxes.append(inbox)
        holder: dict[str, Any] = {}
        inbox.kafka_consumer = lambda: getattr(holder.get("sub"), "consumer", None)
        inbox.starts_at = await start_time(self.pool, inbox.name, start_position(handler))
        listener = SeekToStoredOffsets(
            self.pool, inbox.name, inbox.kafka_consumer, inbox.starts_at, inbox=inbox
        )

        async def raw_records(message: Any, _original: Any) -> Any:
            return message.raw_message

        subscriber = self.broker.subscriber(
            *[self.topic(t) for t in handler.topics],
            **self._fetching(handler),
            batch=True,
            group_id=f"{s.topic_prefix}{inbox.name}",
            # a member that joins (an instance started, or back after a restart) waits for
            # the others' next heartbeat; the subscribers start one after another, so a
            # service of many consumers is ready in seconds rather than half a minute
            heartbeat_interval_ms=HEARTBEAT_MS,
            auto_offset_reset="earliest",
            max_records=s.batch_max_records,
            batch_timeout_ms=s.batch_timeout_ms,
            decoder=raw_records,
            # a batch that fails is fetched again (`nack` in on_batch); one applied is not
            # committed to Kafka at once (`KafkaOffsetsHint`)
            ack_policy=AckPolicy.MANUAL,
            listener=listener,
        )
        holder["sub"] = subscriber
        offsets_hint = inbox.offsets_hint = KafkaOffsetsHint(
            inbox.kafka_consumer, KAFKA_COMMIT_EVERY_S
        )

        @subscriber
        async def on_batch(records: Any, message: KafkaMessage) -> None:
            started = time.perf_counter()
            try:
                result = await inbox.process(records)
            except Exception as exc:
                log.warning(
                    "batch not applied; it will be retried",
                    consumer=inbox.name,
                    error=type(exc).__name__,
                )
                await wait_backoff(inbox.health, exc)
                await message.nack()  # the next fetch starts again at the batch's first record
                raise
            inbox.health.succeeded()
            offsets_hint.applied(records)  # committed to Kafka later: see KafkaOffsetsHint
            if self.metrics is not None:
                seconds = time.perf_counter() - started
                self.metrics.observe_batch(inbox.name, len(records), seconds, result)

    def _dead_lettered(self, letters: Sequence[Any]) -> None:
        """Count the dead letters a consumer recorded, and have the relay announce them."""
        if self.metrics is not None:
            for letter in letters:
                self.metrics.dead_lettered(letter.consumer)
        if self.relay is not None:
            self.relay.wake(dead_letters=True)

    async def stop(self) -> None:
        self.ready = False
        self.stopping = True
        if self.broker is not None:
            await self.broker.stop()  # finishes the batch in hand
        for inbox in self.inboxes:
            if inbox.offsets_hint is not None:
                inbox.offsets_hint.stop()
        if self.timers is not None:
            self.timers.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.redriver is not None:
            self.redriver.stop()
        for task in self._tasks:
            if task.get_name() in ("housekeeping", "clock"):
                task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.shutdown_grace_seconds)
        for task in self._tasks:
            task.cancel()
        await self.pool.close()
        if self.tracing is not None:
            self.tracing.shutdown()  # flushes the exporter, when there is one
        log.info("service stopped")


class ClockAdvance(BaseModel):
    """How far to move a simulated clock forward: at most ten years in one call, and never
    past the last year a date may name (`bounds.LAST_YEAR`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    seconds: float = Field(
        default=0, ge=0, le=10 * 366 * 86400, description="Seconds to move the clock forward."
    )
    hours: float = Field(default=0, ge=0, le=10 * 366 * 24)
    days: float = Field(default=0, ge=0, le=10 * 366)


STAFF = {"admin", "agent", "dispatcher", "engineer", "quality", "billing", "analyst"}
PLATFORM = access.Permissions(
    {"clock.read": STAFF, "clock.advance": {"admin"}, "packs.read": access.USER_ROLES}
)
"""The platform's own routes: only the administrator moves the simulated clock; the staff
read it (a screen counts deadlines down against the services' time, not its own); every
signed-in role reads the policy packs."""


def _platform_routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> Any:
        from fastapi.responses import JSONResponse

        alive, dead = liveness(rt)
        return JSONResponse(
            status_code=200 if alive else 503,
            content={"status": "alive" if alive else "dead", "service": rt.name, "dead": dead},
        )

    @router.get("/readyz")
    async def readyz() -> Any:
        from fastapi.responses import JSONResponse

        ok, checks = await readiness(rt)
        return JSONResponse(
            status_code=200 if ok else 503,
            content={"ready": ok, "service": rt.name, "checks": checks},
        )

    @router.get("/admin/clock", dependencies=[PLATFORM("clock.read")])
    async def clock() -> dict[str, Any]:
        return {"now": rt.clock.now().isoformat(), "simulated": rt.settings.clock == "simulated"}

    @router.post("/admin/clock/advance", dependencies=[PLATFORM("clock.advance")])
    async def advance(body: ClockAdvance) -> dict[str, Any]:
        from repairline_platform.http import Conflict

        delta = timedelta(seconds=body.seconds, hours=body.hours, days=body.days)
        try:
            await rt.advance_clock(delta)
        except RuntimeError as exc:
            raise Conflict(str(exc), current_state="system-clock") from exc
        except ValueError as exc:
            raise refusals.InvalidInput("days", str(exc)) from exc
        return {"now": rt.clock.now().isoformat()}

    from fastapi.responses import HTMLResponse

    from repairline_platform import catalogue

    @router.get("/asyncapi.json", summary="The event catalogue (AsyncAPI 3)")
    async def asyncapi() -> dict[str, Any]:
        return catalogue.document()

    @router.get("/asyncapi", summary="The event catalogue, rendered", response_class=HTMLResponse)
    async def asyncapi_page() -> Any:
        return HTMLResponse(catalogue.page())

    packs_api.add_routes(router, rt, PLATFORM)
    return router


class RequestContext:
    """ASGI middleware: binds each request's correlation id (the caller's
    `X-Correlation-Id`, or a new one) to its log lines and commands, and answers it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        correlation_id = Headers(scope=scope).get("x-correlation-id") or str(uuid.uuid4())

        async def answer_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Correlation-Id"] = correlation_id
            await send(message)

        with (
            structlog.contextvars.bound_contextvars(
                correlation_id=correlation_id,
                http_method=scope["method"],
                http_path=scope["path"],
            ),
            commands.bound(correlation_id, f"http:{correlation_id}"),
        ):
            await self.app(scope, receive, answer_with_id)


def build_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    verifier = tokens.verifier_for(settings)  # no issuer configured: the start stops here
    configure_logging(spec.name, fmt=settings.log_format, level=settings.log_level)
    rt = Runtime(spec, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        try:
            yield
        finally:
            await rt.stop()

    app = FastAPI(
        title=f"repairline {spec.name}",
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = rt
    install_error_handlers(app)
    access.install_handlers(app)
    app.state.rate_limit = RateLimit(
        per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
    )
    bounds.install(app, settings.known_regions)
    idempotency.install(app, lambda: rt.pool)
    # outside the idempotency middleware: a stored answer is replayed to callers let in only
    app.add_middleware(access.Edge, verifier=verifier)
    rt.metrics = metrics.install(app, rt)  # GET /metrics: lag, outbox, timers, pool, HTTP
    rt.tracing = tracing.install(app, spec.name)  # a span per request; OTEL_* export

    app.add_middleware(RequestContext)

    routers = [_platform_routes(rt), spec.routes(rt)]
    routes = [route for router in routers for route in router.routes]
    if missing := access.undeclared(routes):
        raise access.UndeclaredPermission(f"routes without a permission: {missing}")
    for router in routers:
        app.include_router(router)
    openapi = app.openapi

    def openapi_with_idempotency() -> dict[str, Any]:
        return bounds.document_refusals(access.document(idempotency.document(openapi()), routes))

    app.openapi = openapi_with_idempotency  # type: ignore[method-assign]
    return app


def _freeze_startup_objects() -> None:
    """Keep what the start built (modules, models, schemas, pools: about 130,000 objects
    in intake) out of the cyclic collector's way from now on.

    A full collection walks every tracked object and holds the event loop meanwhile:
    83-131 ms measured in a started intake and dispatch, every request and batch in
    flight waiting on it. Frozen objects are still freed by reference counting; only
    cycles among them would outlive their last use, and the start leaves none that
    matter."""
    gc.collect()
    gc.freeze()
