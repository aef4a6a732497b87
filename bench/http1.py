"""The benches' HTTP client: one keep-alive HTTP/1.1 connection that posts JSON.

A bench's client runs on the machine it measures. httpx spends far more CPU per request
than the endpoints it would measure here: its connection pool looks over every
connection for each request and asks for the running async library by an import (at 200
requests a second over 256 connections, 82 % of the live bench's CPU by a profile, about
a core of two), and a bare endpoint answers in less CPU than httpx takes to send to it.
Here a request costs a write and two reads.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

IDLE_CONNECTION_S = 4.0  # a connection idle this long is not reused (uvicorn closes at 5)


class Http1:
    """A keep-alive HTTP/1.1 connection that posts JSON."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        url = httpx.URL(base_url)
        self._address = (url.host, url.port or 80)
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._head = f"Host: {url.host}:{url.port}\r\n{extra}Content-Type: application/json\r\n"
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._used_at = 0.0

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """The answer's status and body."""
        idle = time.monotonic() - self._used_at
        if self._streams is not None and (idle > IDLE_CONNECTION_S or self._streams[0].at_eof()):
            self.close()  # the server is about to close it, or closed it
        if self._streams is None:
            self._streams = await asyncio.open_connection(*self._address)
        reader, writer = self._streams
        data = json.dumps(body).encode()
        writer.write(
            f"POST {path} HTTP/1.1\r\n{self._head}Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "content-length" not in fields:
            raise RuntimeError(f"an answer without Content-Length: {head[0]}")
        answer = await reader.readexactly(int(fields["content-length"]))
        if fields.get("connection", "").lower() == "close":
            self.close()
        self._used_at = time.monotonic()
        return status, answer

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None
