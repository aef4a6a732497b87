"""PostgreSQL pool and migrations.

Every service database holds the same platform tables (event store doubling as the
outbox, inbox offsets and processed ids, durable timers, the simulated clock's
offset) plus the service's own projection tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

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

PLATFORM_MIGRATIONS = (
    ("000_platform", PLATFORM_SCHEMA),
    ("001_platform_idempotency", IDEMPOTENCY_SCHEMA),
    ("002_platform_housekeeping", HOUSEKEEPING_SCHEMA),
)


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg advisory locks."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def ensure_database(server_dsn: str, database: str) -> None:
    """Create `database` on the server if it does not exist (local and test setups)."""
    conn = await asyncpg.connect(f"{server_dsn.rstrip('/')}/postgres")
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


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
