"""The benches' HTTP client against a real uvicorn server: JSON posted, the status and
body read back, one connection kept alive, and a connection the server would drop (or
did drop) never reused."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench import http1
from bench.http1 import Http1
from tests.support.system import eventually


class Served:
    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.peers: list[int] = []  # the client port of each request: its connection
        self.headers: list[dict[str, str]] = []


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, Served]]:
    seen = Served()
    app = FastAPI()

    @app.post("/tickets")
    async def create(request: Request) -> JSONResponse:
        seen.bodies.append(await request.json())
        seen.peers.append(request.client.port if request.client else 0)
        seen.headers.append(dict(request.headers))
        if seen.bodies[-1].get("refuse"):
            return JSONResponse(status_code=422, content={"field": "refuse"})
        close = {"Connection": "close"} if seen.bodies[-1].get("close") else {}
        return JSONResponse(status_code=201, content={"n": len(seen.bodies)}, headers=close)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: _started(server))
    yield f"http://127.0.0.1:{port}", seen
    server.should_exit = True
    await task


async def test_a_post_sends_the_json_and_headers_and_reads_status_and_body(served):
    url, seen = served
    client = Http1(url, {"Authorization": "Bearer t"})

    status, body = await client.post("/tickets", {"serial": "SN1", "note": "水 heater"})
    refused, answer = await client.post("/tickets", {"refuse": True})

    assert (status, json.loads(body)) == (201, {"n": 1})
    assert (refused, json.loads(answer)) == (422, {"field": "refuse"})
    assert seen.bodies[0] == {"serial": "SN1", "note": "水 heater"}
    assert seen.headers[0]["authorization"] == "Bearer t"
    assert seen.peers[0] == seen.peers[1]  # one connection, kept alive
    client.close()


async def test_a_connection_closed_by_the_server_or_idle_too_long_is_not_reused(
    served, monkeypatch: pytest.MonkeyPatch
):
    url, seen = served
    client = Http1(url, {})

    await client.post("/tickets", {"close": True})  # the server says it closes
    await client.post("/tickets", {})
    monkeypatch.setattr(http1, "IDLE_CONNECTION_S", 0.0)  # as if idle past the server's limit
    await client.post("/tickets", {})

    assert len(set(seen.peers)) == 3
    client.close()


async def _started(server: uvicorn.Server) -> bool:
    return server.started
