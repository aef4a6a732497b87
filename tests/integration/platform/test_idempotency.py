"""Idempotent POSTs on a running service, its real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from repairline_platform import idempotency
from tests.integration.platform.conftest import Platform
from tests.support.auth import bearer
from tests.support.factories import request_body
from tests.support.system import ServiceProcess, connect, drop_database


@pytest.fixture
def intake(prefix: str) -> Iterator[ServiceProcess]:
    proc = ServiceProcess("intake", prefix=prefix, database=f"{prefix.rstrip('.')}_intake")
    try:
        yield proc.start()
    finally:
        proc.terminate()


@pytest.fixture(autouse=True)
async def _drop_database(prefix: str):
    yield
    await drop_database(f"{prefix.rstrip('.')}_intake")


def post(proc: ServiceProcess, path: str, body: Any, key: str) -> tuple[int, Any, dict[str, str]]:
    req = urllib.request.Request(
        proc.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": key, **bearer()},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return (
                answer.status,
                json.loads(answer.read()),
                {k.lower(): v for k, v in answer.headers.items()},
            )
    except urllib.error.HTTPError as refused:
        return (
            refused.code,
            json.loads(refused.read()),
            {k.lower(): v for k, v in refused.headers.items()},
        )


async def requests_recorded(proc: ServiceProcess) -> int:
    conn = await connect(proc.database)
    try:
        return await conn.fetchval(
            "select count(*) from events where event_type like '%RepairRequested'"
        )
    finally:
        await conn.close()


async def test_a_retried_post_answers_the_first_result_without_a_second_ticket(intake):
    key, body = str(uuid.uuid4()), request_body()
    first = post(intake, "/tickets", body, key)
    again = post(intake, "/tickets", body, key)
    assert first[0] == again[0] == 201
    assert again[1] == first[1]
    assert again[2].get("idempotent-replayed") == "true"
    assert await requests_recorded(intake) == 1


async def test_the_same_key_with_another_body_is_a_422_naming_the_header(intake):
    key = str(uuid.uuid4())
    assert post(intake, "/tickets", request_body(), key)[0] == 201
    status, answer, _ = post(intake, "/tickets", request_body(fault_description="other"), key)
    assert status == 422
    assert answer["errors"][0]["field"] == "Idempotency-Key"
    assert await requests_recorded(intake) == 1


async def test_concurrent_retries_with_one_key_record_one_effect(intake):
    key, body = str(uuid.uuid4()), request_body()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: post(intake, "/tickets", body, key), range(4)))
    assert {a[0] for a in answers} == {201}
    assert len({a[1]["ticket_id"] for a in answers}) == 1
    assert await requests_recorded(intake) == 1


async def test_every_post_declares_the_idempotency_key_in_the_openapi(intake):
    _, schema = intake.request("GET", "/openapi.json")
    posts = [ops["post"] for ops in schema["paths"].values() if "post" in ops]
    assert posts
    for operation in posts:
        assert "Idempotency-Key" in {p["name"] for p in operation.get("parameters", [])}


async def test_a_retry_after_the_first_request_stopped_before_answering_names_what_it_created(
    intake,
):
    """The first request committed its ticket and its claim, and its process stopped before
    the answer was stored: a retry cannot replay an answer, so it names the stream."""
    key, body = str(uuid.uuid4()), request_body()
    created = post(intake, "/tickets", body, str(uuid.uuid4()))[1]
    raw = json.dumps(body).encode()
    digest = hashlib.sha256(b"/tickets?\n" + raw).hexdigest()
    conn = await connect(intake.database)
    try:  # what the stopped request left: its claim, with its stream, and no answer
        await conn.execute(
            "insert into idempotency_keys (key, request_hash, stream_id) values ($1, $2, $3)",
            key,
            digest,
            created["ticket_id"],
        )
    finally:
        await conn.close()
    status, answer, headers = post(intake, "/tickets", body, key)
    assert status == 409 and headers.get("retry-after") == "1"
    assert answer["error"] == "request_in_progress"
    assert answer["stream_id"] == created["ticket_id"]
    assert await requests_recorded(intake) == 1


async def test_a_retry_refused_while_the_first_request_runs_keeps_the_first_result(
    platform: Platform,
):
    """The first request records its effect (its claim commits with it) but is slow to
    answer; the caller, timed out, retries with the key on another instance, which finds
    no claim yet, then sees the effect and refuses (already done). The key keeps the first
    result: the retry's refusal is never stored as the answer, or every later retry with
    the key would be refused too."""
    claimed, retry_in_route, first_committed, retry_done = (asyncio.Event() for _ in range(4))
    app = FastAPI()
    idempotency.install(app, lambda: platform.pool)

    @app.post("/things")
    async def record(body: dict[str, Any]) -> Any:
        claim = idempotency.current()
        assert claim is not None
        if claimed.is_set():  # the retry: by the time it decides, the thing exists
            retry_in_route.set()
            await first_committed.wait()
            return JSONResponse(status_code=409, content={"error": "illegal_transition"})
        async with platform.pool.acquire() as conn, conn.transaction():
            await idempotency.claim_in(conn, claim, "thing-1")
            claimed.set()
            await retry_in_route.wait()
        claim.committed = True
        first_committed.set()
        with contextlib.suppress(TimeoutError):  # slow to answer: the retry ends first
            await asyncio.wait_for(retry_done.wait(), timeout=2.0)
        return JSONResponse(status_code=201, content={"thing_id": "thing-1"})

    async def post_thing() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            return await client.post("/things", json={"n": 1}, headers={"Idempotency-Key": "k"})

    first = asyncio.create_task(post_thing())
    await claimed.wait()
    retry = await post_thing()
    retry_done.set()
    await first

    assert first.result().status_code == 201
    assert retry.json().get("error") != "illegal_transition"
    again = await post_thing()
    assert (again.status_code, again.json()) == (201, {"thing_id": "thing-1"})


async def test_a_post_while_the_database_is_out_of_reach_is_a_json_503(prefix: str):
    """The keys are read before the route runs: their database out of reach is the same
    503 with `retry_after` as anywhere else, not a 500 with a traceback."""
    with socket.socket() as probe:  # a port nothing listens on: the database is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool = await asyncpg.create_pool(
        f"postgresql://repairline@127.0.0.1:{port}/repairline", min_size=0, max_size=1
    )
    app = FastAPI()
    idempotency.install(app, lambda: pool)

    @app.post("/things")
    async def record() -> dict[str, str]:
        return {"thing_id": "thing-1"}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        answer = await client.post("/things", json={}, headers={"Idempotency-Key": "k"})
    assert answer.status_code == 503
    assert answer.json()["error"] == "service_unavailable"
    assert answer.json()["retry_after"] >= 1
    await pool.close()
