"""The baseline of the intake bench: a bare FastAPI endpoint on the same server
(uvicorn, same options as a service) that validates the same request body with intake's
own model and inserts one row, with no identity, no idempotency, no rules, no events.

    REPAIRLINE_DATABASE=... python -m bench.bare_intake PORT
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Request

from repairline_intake.schemas import RepairRequestIn
from repairline_platform.settings import ServiceSettings

TABLE = "bare_tickets"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = ServiceSettings()
    pool = await asyncpg.create_pool(settings.dsn_for("bench_bare"), min_size=2, max_size=20)
    await pool.execute(
        f"create table if not exists {TABLE} (ticket_id text primary key, body jsonb not null)"
    )
    app.state.pool = pool
    yield
    await pool.close()


app = FastAPI(lifespan=_lifespan)


@app.post("/tickets", status_code=201)
async def create(body: RepairRequestIn, request: Request) -> dict[str, Any]:
    ticket_id = str(uuid.uuid4())
    await request.app.state.pool.execute(
        f"insert into {TABLE} (ticket_id, body) values ($1, $2)",
        ticket_id,
        body.model_dump_json(),
    )
    return {"ticket_id": ticket_id}


@app.get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        log_config=None,
        loop="uvloop",  # the services' loop and HTTP parser (`repairline_platform.cli`)
        http="httptools",
    )
