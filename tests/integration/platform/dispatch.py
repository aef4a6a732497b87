"""The dispatch service in-process on the real broker and database, for platform tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from repairline_contracts.dispatch import EngineerAssigned
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_platform.runtime import Runtime
from repairline_platform.settings import ServiceSettings
from tests.support.infra import drop_database
from tests.support.system import KAFKA, PG


def dispatch_runtime(prefix: str, **settings: Any) -> Runtime:
    return Runtime(
        DISPATCH,
        ServiceSettings(
            kafka_bootstrap=KAFKA,
            pg_dsn=PG,
            topic_prefix=prefix,
            database=database_of(prefix),
            clock="simulated",
            batch_timeout_ms=50,
            **settings,
        ),
    )


@asynccontextmanager
async def dispatch_storage(prefix: str, **settings: Any) -> AsyncIterator[Runtime]:
    """Dispatch's database only (the command path, no broker), dropped afterwards."""
    rt = dispatch_runtime(prefix, **settings)
    await rt.open_storage()
    try:
        yield rt
    finally:
        await rt.pool.close()
        await drop_database(database_of(prefix))


def database_of(prefix: str) -> str:
    return f"{prefix.rstrip('.')}_dispatch"


async def add_engineer(rt: Runtime) -> None:
    await rt.pool.execute(
        "insert into engineers values ('eng-1', 'Engineer One', 'cn-east',"
        " array['instant_water_heater'], true, now()) on conflict do nothing"
    )


async def assignments(rt: Runtime, ticket_id: str) -> int:
    return await rt.pool.fetchval(
        "select count(*) from events where stream_id = $1 and event_type = $2",
        ticket_id,
        EngineerAssigned.event_type,
    )


async def consumed(rt: Runtime, consumer: str) -> int:
    return await rt.pool.fetchval(
        "select coalesce(sum(next_offset), 0) from consumer_offsets where consumer = $1", consumer
    )
