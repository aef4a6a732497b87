"""PostgreSQL pool and migrations.

Every service database holds the same platform tables (event store doubling as the
outbox, inbox offsets and processed ids, durable timers, the simulated clock's
offset) plus the service's own projection tables.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

if TYPE_CHECKING:
    from repairline_platform.settings import PgSettings

PLATFORM_SCHEMA = """
create table if not exists events (
    global_position bigserial primary key,
    event_id text not null unique,
    stream_id text not null,
    stream_version integer not null,
    event_type text not null,
    schema_version integer not null,
    topic text not null,
    envelope text not null,
    recorded_at timestamptz not null,
    published_at timestamptz,
    unique (stream_id, stream_version)
);
create index if not exists events_unpublished on events (global_position)
    where published_at is null;

create table if not exists consumer_offsets (
    consumer text not null,
    topic text not null,
    partition integer not null,
    next_offset bigint not null,
    primary key (consumer, topic, partition)
);

create table if not exists processed_events (
    consumer text not null,
    event_id text not null,
    primary key (consumer, event_id)
);

create table if not exists timers (
    timer_id text primary key,
    kind text not null,
    stream_id text not null,
    due_at timestamptz not null,
    payload jsonb not null,
    correlation_id text not null,
    fired_at timestamptz
);
create index if not exists timers_due on timers (due_at) where fired_at is null;

create table if not exists clock_state (
    id integer primary key check (id = 1),
    offset_us bigint not null
);
"""

# Added to databases created before: dead letters and held events kept per consumer,
# where a consumer group starts, poison outbox rows and failing timers parked.
PLATFORM_RESILIENCE = """
create table if not exists dead_letters (
    consumer text not null,
    origin_topic text not null,
    origin_partition integer not null,
    origin_offset bigint not null,
    record_key bytea,
    record_value bytea,
    size_bytes integer not null,
    error text not null,
    dead_at timestamptz not null default now(),
    published_at timestamptz,
    redrive_requested_at timestamptz,
    redriven_at timestamptz,
    redrive_error text,
    primary key (consumer, origin_topic, origin_partition, origin_offset)
);
create index if not exists dead_letters_unpublished on dead_letters (dead_at)
    where published_at is null;

create table if not exists parked_events (
    seq bigserial primary key,
    consumer text not null,
    origin_topic text not null,
    origin_partition integer not null,
    origin_offset bigint not null,
    stream_id text not null,
    event_type text not null,
    schema_version integer not null,
    record_value bytea not null,
    reason text not null,
    parked_at timestamptz not null default now(),
    unique (consumer, origin_topic, origin_partition, origin_offset)
);
create index if not exists parked_events_stream on parked_events (consumer, stream_id);

create table if not exists consumer_starts (
    consumer text primary key,
    started_at timestamptz not null
);

alter table events add column if not exists quarantined_at timestamptz;
alter table events add column if not exists publish_error text;
create index if not exists events_quarantined on events (stream_id)
    where quarantined_at is not null and published_at is null;

alter table timers add column if not exists attempts integer not null default 0;
alter table timers add column if not exists last_error text;
alter table timers add column if not exists parked_at timestamptz;
alter table timers add column if not exists policy_pack text;
alter table timers add column if not exists policy_version text;
"""

# Every connection gives up instead of hanging: a statement or a lock wait that takes
# this long is an error the caller retries, and a session idle in a transaction is ended.
SERVER_SETTINGS = {
    "statement_timeout": "30000",
    "lock_timeout": "10000",
    "idle_in_transaction_session_timeout": "60000",
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}

IDEMPOTENCY_SCHEMA = """
create table if not exists idempotency_keys (
    key text primary key,
    request_hash text not null,
    status integer,
    body bytea,
    content_type text,
    created_at timestamptz not null default now()
);
create index if not exists idempotency_keys_age on idempotency_keys (created_at);
"""

HOUSEKEEPING_SCHEMA = """
alter table processed_events
    add column if not exists processed_at timestamptz not null default now();
create index if not exists processed_events_age on processed_events (processed_at);
create index if not exists timers_fired on timers (fired_at) where fired_at is not null;
"""

IDEMPOTENCY_STREAM_SCHEMA = """
alter table idempotency_keys add column if not exists stream_id text;
"""

TRACING_SCHEMA = """
alter table events add column if not exists traceparent text;
"""

PLATFORM_MIGRATIONS = (
    ("000_platform", PLATFORM_SCHEMA),
    ("001_platform_resilience", PLATFORM_RESILIENCE),
    ("002_platform_idempotency", IDEMPOTENCY_SCHEMA),
    ("003_platform_housekeeping", HOUSEKEEPING_SCHEMA),
    ("004_platform_tracing", TRACING_SCHEMA),
    ("005_platform_idempotency_stream", IDEMPOTENCY_STREAM_SCHEMA),
)


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg advisory locks."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def advisory_key_sql(scope: str, name_sql: str) -> str:
    """`advisory_key(f"{scope}:{name}")` computed by PostgreSQL, for `name_sql` (a column
    or expression of text): a statement that finds the names can lock them too."""
    if not scope.isidentifier():
        raise ValueError(f"not a lock scope: {scope!r}")
    return (
        f"('x' || left(encode(sha256(convert_to('{scope}:' || {name_sql}, 'UTF8')), 'hex'),"
        " 16))::bit(64)::bigint"
    )


async def lock_in_order(conn: asyncpg.Connection, scope: str, names: Iterable[str]) -> None:
    """Transaction-scoped advisory locks on `<scope>:<name>` for every name, taken in one
    order (by key) by every caller, so that two transactions locking overlapping sets wait
    for each other instead of both deciding on what the other is about to change."""
    keys = sorted({advisory_key(f"{scope}:{name}") for name in names})
    if len(keys) == 1:
        await conn.execute("select pg_advisory_xact_lock($1)", keys[0])
    elif keys:  # one round trip: the function scan takes them in the array's order
        await conn.execute(
            "select count(pg_advisory_xact_lock(k)) from unnest($1::bigint[]) as k", keys
        )


async def ensure_database(server_dsn: str, database: str, **options: Any) -> None:
    """Create `database` on the server if it does not exist (local and test setups);
    `options` are `connect_options(settings)`."""
    conn = await asyncpg.connect(f"{server_dsn.rstrip('/')}/postgres", **options)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", database)
        if not exists:
            await conn.execute(f'create database "{database}"')
    except asyncpg.DuplicateDatabaseError:
        pass
    finally:
        await conn.close()


async def migrate(conn: asyncpg.Connection, migrations: Sequence[Migration]) -> list[str]:
    """Apply the platform schema and the given migrations once each, under a lock."""
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("set local statement_timeout = 0")  # an index on a big table
        await conn.execute("select pg_advisory_xact_lock($1)", advisory_key("migrations"))
        await conn.execute(
            "create table if not exists schema_migrations ("
            " name text primary key, applied_at timestamptz not null default now())"
        )
        done = {r["name"] for r in await conn.fetch("select name from schema_migrations")}
        platform = [Migration(name, sql) for name, sql in PLATFORM_MIGRATIONS]
        for migration in (*platform, *migrations):
            if migration.name in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute("insert into schema_migrations (name) values ($1)", migration.name)
            applied.append(migration.name)
    return applied


class PooledConnection(asyncpg.Connection):
    """A pool's connection, released without a round trip unless it holds session state.

    asyncpg resets a released connection in the database (advisory locks, cursors,
    LISTEN, settings), one round trip per transaction. The platform keeps its state
    transaction-local (`pg_advisory_xact_lock`, `set local`), so that query is skipped
    unless `hold_session_state()` was called: by the relay, which holds its session lock
    on a pooled connection. An open transaction is rolled back on release either way."""

    __slots__ = ("_session_state",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session_state = False

    def hold_session_state(self) -> None:
        """This connection takes session-level state: reset it in full when released."""
        self._session_state = True

    def get_reset_query(self) -> str:
        if not self._session_state:
            return ""
        self._session_state = False
        return super().get_reset_query()


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 20, **options: Any
) -> asyncpg.Pool:
    """A pool whose connections time out (statements, locks, connecting) and detect a lost
    peer within about half a minute (TCP keepalives on both ends), released without a
    reset query (`PooledConnection`); `options` are `connect_options(settings)` (TLS and
    password)."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=CONNECT_TIMEOUT,
        command_timeout=COMMAND_TIMEOUT,
        server_settings=SERVER_SETTINGS,
        init=_client_keepalives,
        connection_class=PooledConnection,
        **options,
    )


# -- TLS and password ----------------------------------------------------------------------


class PgSettingsError(ValueError):
    """The PostgreSQL TLS or password settings do not fit together or cannot be read; the
    service or command does not start. The message names the setting."""


def connect_options(settings: PgSettings) -> dict[str, Any]:
    """The keyword arguments every asyncpg connection and pool the platform opens gets.

    Nothing set adds nothing (the DSN decides, as before). `pg_sslmode` follows libpq:
    `require` encrypts (and checks the chain when a CA file is set), `verify-ca` checks
    the chain, `verify-full` the chain and the host name; `pg_ca_file` replaces the
    system's CAs; `pg_cert_file` and `pg_key_file` present a client certificate. The
    password comes from `pg_password` or `pg_password_file` (read at each new connection,
    so a rotated Secret needs no restart), never from the DSN in the repository.
    Checked here, at start: a missing file or a mismatch raises `PgSettingsError`.
    """
    options: dict[str, Any] = {}
    tls = _pg_tls(settings)
    if tls is not None:
        options["ssl"] = tls
    password = _pg_password(settings)
    if password is not None:
        options["password"] = password
    return options


_VERIFYING = ("verify-ca", "verify-full")
_TLS_FILES = ("ca_file", "cert_file", "key_file")


def _pg_tls(settings: PgSettings) -> ssl.SSLContext | str | None:
    mode = settings.pg_sslmode
    files = {name: getattr(settings, f"pg_{name}") for name in _TLS_FILES}
    given = [name for name, path in files.items() if path is not None]
    if given and mode not in ("require", *_VERIFYING):
        raise PgSettingsError(
            f"REPAIRLINE_PG_{given[0].upper()} needs REPAIRLINE_PG_SSLMODE require, verify-ca"
            f" or verify-full (it is {mode or 'unset'})"
        )
    for name in given:
        _readable(files[name], f"REPAIRLINE_PG_{name.upper()}")
    if (files["cert_file"] is None) != (files["key_file"] is None):
        raise PgSettingsError("REPAIRLINE_PG_CERT_FILE and REPAIRLINE_PG_KEY_FILE go together")
    if mode is None or mode in ("disable", "prefer"):
        return mode
    ca = files["ca_file"]
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    context.check_hostname = mode == "verify-full"
    if mode == "require" and ca is None:
        context.verify_mode = ssl.CERT_NONE  # encrypted, not authenticated (libpq's require)
    if files["cert_file"] is not None:
        try:
            context.load_cert_chain(str(files["cert_file"]), str(files["key_file"]))
        except (ssl.SSLError, OSError) as exc:
            raise PgSettingsError(
                f"REPAIRLINE_PG_CERT_FILE/REPAIRLINE_PG_KEY_FILE do not load: {exc}"
            ) from exc
    return context


def _pg_password(settings: PgSettings) -> str | Callable[[], str] | None:
    if settings.pg_password is not None and settings.pg_password_file is not None:
        raise PgSettingsError("set REPAIRLINE_PG_PASSWORD or REPAIRLINE_PG_PASSWORD_FILE, not both")
    if settings.pg_password is not None:
        return settings.pg_password.get_secret_value()
    path = settings.pg_password_file
    if path is None:
        return None
    if not _read_password(path):
        raise PgSettingsError(f"REPAIRLINE_PG_PASSWORD_FILE {path} is empty")
    return lambda: _read_password(path)


def _read_password(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise PgSettingsError(f"REPAIRLINE_PG_PASSWORD_FILE cannot be read: {exc}") from exc


def _readable(path: Path, name: str) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise PgSettingsError(f"{name} cannot be read: {exc}") from exc


async def _client_keepalives(conn: asyncpg.Connection) -> None:
    """Client-side TCP keepalives: a dead server or a lost node is noticed in ~25 s."""
    transport = getattr(conn, "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


CONNECT_TIMEOUT = 10.0
COMMAND_TIMEOUT = 60.0
ACQUIRE_TIMEOUT = 15.0


# SQLSTATEs that say "try again later", not "this input is wrong": serialization failure,
# deadlock, lock not available, statement/lock timeout (query canceled), too many
# connections and other resource shortages, the server shutting down or restarting,
# and every connection exception.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"})
_TRANSIENT_CLASSES = frozenset({"08", "53", "58"})


def is_transient(exc: BaseException) -> bool:
    """Whether a failure is worth retrying as it is (with backoff) rather than poison.

    Decided by exception type and SQLSTATE, following the cause chain: a ConcurrencyError
    raised from a unique violation is a race, not a bad message. asyncpg's other
    InterfaceErrors are programming errors: deterministic.
    """
    from repairline_platform.eventstore import ConcurrencyError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(
            current,
            ConcurrencyError
            | OSError
            | TimeoutError
            | asyncpg.PostgresConnectionError
            | asyncpg.CannotConnectNowError,
        ):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "pool is closing" in str(current):
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and (
            state in _TRANSIENT_SQLSTATES or state[:2] in _TRANSIENT_CLASSES
        ):
            return True
        current = current.__cause__
    return False
