"""The fault run's client: a visit report the service refused is a failure of the run,
never a completed ticket (a refused completion left the ticket open, and the checks
then counted it as lost)."""

from __future__ import annotations

import random

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bench.chaos import Client, Instance, Run, one_ticket

TICKET = "t-1"


def dispatch_refusing(step: str, status: int) -> FastAPI:
    app = FastAPI()

    @app.post("/tickets")
    async def created() -> JSONResponse:
        return JSONResponse(status_code=201, content={"ticket_id": TICKET})

    @app.get("/tickets/{ticket_id}")
    async def assigned(ticket_id: str) -> dict[str, str]:
        return {"ticket_id": ticket_id, "engineer_id": "eng-1"}

    @app.post("/tickets/{ticket_id}/{reported}")
    async def report(ticket_id: str, reported: str) -> JSONResponse:
        if reported == step:
            return JSONResponse(status_code=status, content={"error": "refused"})
        return JSONResponse(status_code=200, content={"ticket_id": ticket_id})

    return app


async def run_one(app: FastAPI) -> Run:
    fleet = {svc: [Instance(svc, i, 1, {}) for i in range(2)] for svc in ("intake", "dispatch")}
    run = Run()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport) as http:
        await one_ticket(Client(http, fleet), random.Random(1), 1, run)
    return run


async def test_a_refused_completion_is_a_failure_not_a_completed_ticket():
    run = await run_one(dispatch_refusing("completion", 401))
    assert run.acknowledged == {TICKET}
    assert run.completed == set()
    assert run.failures == {"dispatch answered 401 to completion": 1}


async def test_a_refused_arrival_stops_the_visit():
    run = await run_one(dispatch_refusing("arrival", 422))
    assert run.completed == set()
    assert run.failures == {"dispatch answered 422 to arrival": 1}


async def test_an_accepted_visit_completes_the_ticket():
    run = await run_one(dispatch_refusing("nothing", 200))
    assert run.completed == {TICKET}
    assert not run.failures
