"""Idempotent POSTs: the same `Idempotency-Key` and body answer the first result, once.

The key is claimed inside the transaction that records the request's effects (the
first append of the request's first committed unit of work), so an effect and its
claim commit together or not at all: a retry after a lost answer finds the claim and
is answered from it, never applied twice. The answer itself is stored when the first
request finishes; a retry that arrives while the first is still running waits for it,
and then (or when the first stopped before answering) gets a 409 naming the stream the
effects were recorded on, so the caller can read what it created.
A key used again with another request is a 422. Keys are kept `KEEP` (at least 24 h).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=48)
MAX_KEY_LENGTH = 200
WAIT_FOR_FIRST_SECONDS = 5.0


class AlreadyClaimed(Exception):
    """Another request with this key recorded its effects first."""


@dataclass
class Claim:
    key: str
    request_hash: str
    committed: bool = False


_claim: ContextVar[Claim | None] = ContextVar("repairline_idempotency_claim", default=None)


def current() -> Claim | None:
    """The key of the request being served, unless its claim is already committed."""
    claim = _claim.get()
    return None if claim is None or claim.committed else claim


async def claim_in(conn: asyncpg.Connection, claim: Claim, stream_id: str) -> None:
    """Claim the key in the caller's transaction, naming the stream its first effect is
    on; AlreadyClaimed when another request has."""
    inserted = await conn.fetchval(
        "insert into idempotency_keys (key, request_hash, stream_id) values ($1, $2, $3)"
        " on conflict (key) do nothing returning true",
        claim.key,
        claim.request_hash,
        stream_id,
    )
    if not inserted:
        raise AlreadyClaimed(claim.key)


def _error(status: int, error: str, reason: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": error, "errors": [{"field": HEADER, "reason": reason}]},
    )


def _in_progress(stream_id: str | None) -> JSONResponse:
    return JSONResponse(
        status_code=409,
        headers={"Retry-After": "1"},
        content={
            "error": "request_in_progress",
            "detail": "the first request with this Idempotency-Key recorded its"
            " effects on `stream_id`, and its answer is not stored: it is still"
            " running, or it stopped before answering. Read the resource, or retry",
            "stream_id": stream_id,
        },
    )


def _replay(row: asyncpg.Record) -> Response:
    return Response(
        content=bytes(row["body"] or b""),
        status_code=row["status"],
        media_type=row["content_type"],
        headers={"Idempotent-Replayed": "true"},
    )


async def _stored(pool: asyncpg.Pool, key: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "select request_hash, status, body, content_type, stream_id from idempotency_keys"
        " where key = $1",
        key,
    )


async def _answer_of_first(pool: asyncpg.Pool, key: str, request_hash: str) -> Response | None:
    """The stored answer of the first request with this key, waiting while it runs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_FIRST_SECONDS
    while True:
        row = await _stored(pool, key)
        if row is None:
            return None
        if row["request_hash"] != request_hash:
            return _error(422, "validation_failed", "this key was used with another request")
        if row["status"] is not None:
            return _replay(row)
        if loop.time() >= deadline:
            return _in_progress(row["stream_id"])
        await asyncio.sleep(0.05)


async def _store(
    pool: asyncpg.Pool, claim: Claim, status: int, body: bytes, content_type: str | None
) -> bool:
    """Keep the answer as the key's first result; False when it is not this request's to
    keep: another request with the key claimed it (its effects, or its answer, came first).

    Only the request whose claim committed fills in the answer of a claimed key. A request
    that recorded nothing (a refusal, say) may be a retry racing the first, which is still
    running: answering for it would replace the first result with a refusal of the retry.
    """
    if claim.committed:
        sql = (
            "update idempotency_keys set status = $3, body = $4, content_type = $5"
            " where key = $1 and request_hash = $2 and status is null returning true"
        )
    else:
        sql = (
            "insert into idempotency_keys (key, request_hash, status, body, content_type)"
            " values ($1, $2, $3, $4, $5) on conflict (key) do nothing returning true"
        )
    stored = await pool.fetchval(sql, claim.key, claim.request_hash, status, body, content_type)
    return bool(stored)


async def trim(pool: asyncpg.Pool, now: Any) -> int:
    """Forget keys older than KEEP; returns how many."""
    status = await pool.execute("delete from idempotency_keys where created_at < $1", now - KEEP)
    return int(status.split()[-1])


async def _whole_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class IdempotentPosts:
    """ASGI middleware: honours `Idempotency-Key` on every POST; other requests pass
    straight through. `pool_of()` gives the service's pool."""

    def __init__(self, app: ASGIApp, pool_of: Callable[[], asyncpg.Pool]) -> None:
        self.app = app
        self.pool_of = pool_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _key_of(scope)
        if key is None:
            return await self.app(scope, receive, send)
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            reason = f"1 to {MAX_KEY_LENGTH} printable characters"
            return await _error(422, "validation_failed", reason)(scope, receive, send)
        try:
            await self._serve(scope, receive, send, key)
        except Exception as exc:  # the keys' table is out of reach: the usual 503
            from repairline_platform.db import is_transient
            from repairline_platform.http import unavailable_answer

            if not is_transient(exc):
                raise
            detail = "the database is unreachable for a moment; retry"
            await unavailable_answer(exc, detail)(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        """One POST with an Idempotency-Key: the first result, or this request's, kept."""
        raw = await _whole_body(receive)
        url = Request(scope).url
        digest = hashlib.sha256(f"{url.path}?{url.query}\n".encode() + raw)
        claim = Claim(key=key, request_hash=digest.hexdigest())
        pool = self.pool_of()
        earlier = await _answer_of_first(pool, key, claim.request_hash)
        if earlier is not None:
            return await earlier(scope, receive, send)
        answer = await self._first(scope, _replaying(raw, receive), claim)
        if answer is not None:
            start, body = answer
            if start["status"] >= 500:
                return await _send(send, start, body)
            content_type = Headers(raw=start.get("headers", [])).get("content-type")
            if await _store(pool, claim, start["status"], body, content_type):
                return await _send(send, start, body)
        # another request with this key recorded its effects, or its answer, first
        earlier = await _answer_of_first(pool, key, claim.request_hash)
        await (earlier or _in_progress(None))(scope, receive, send)

    async def _first(
        self, scope: Scope, receive: Receive, claim: Claim
    ) -> tuple[Message, bytes] | None:
        """Serve the request, keeping its answer (None when the key was claimed first)."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        token = _claim.set(claim)
        try:
            await self.app(scope, receive, keep)
        except AlreadyClaimed:
            return None
        finally:
            _claim.reset(token)
        assert start is not None, "the application sent no answer"
        return start, b"".join(chunks)


async def _send(send: Send, start: Message, body: bytes) -> None:
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _key_of(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    return Headers(scope=scope).get(HEADER)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The request's body, read already, for the application; then the client's events
    (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def install(app: FastAPI, pool_of: Callable[[], asyncpg.Pool]) -> None:
    """Honour `Idempotency-Key` on every POST of `app`."""
    app.add_middleware(IdempotentPosts, pool_of=pool_of)


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the `Idempotency-Key` header on every POST of an OpenAPI document."""
    parameter = {
        "name": HEADER,
        "in": "header",
        "required": False,
        "description": "Any unique string up to 200 characters (a UUID is best). A POST"
        " retried with the same key and body answers the first result without a second"
        " effect; the same key with another body is a 422. Keys are kept 48 hours.",
        "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    }
    for operations in schema.get("paths", {}).values():
        post = operations.get("post")
        if post is not None:
            names = {p.get("name") for p in post.get("parameters", [])}
            if HEADER not in names:
                post.setdefault("parameters", []).append(parameter)
    return schema
