"""The four services' public HTTP APIs, called with the signed-in user's own token.

The console never holds a token of its own: every read and command goes out with the
bearer token of the person at the screen, so the services' scoping is what the pages
show (a dispatcher of cn-east sees cn-east; an engineer his own jobs).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Backend:
    def __init__(self, urls: dict[str, str], *, timeout: float = 15.0) -> None:
        self.urls = urls
        self.client = httpx.AsyncClient(timeout=timeout)

    async def close(self) -> None:
        await self.client.aclose()

    async def call(
        self,
        token: str,
        service: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Answer:
        headers = {"Authorization": f"Bearer {token}"}
        if method != "GET":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        try:
            resp = await self.client.request(
                method,
                self.urls[service] + path,
                params={k: v for k, v in (params or {}).items() if v not in (None, "")},
                json=json,
                headers=headers,
            )
        except httpx.HTTPError as err:
            return Answer(503, {"error": "unavailable", "detail": type(err).__name__})
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        return Answer(resp.status_code, body)

    async def get(self, token: str, service: str, path: str, **params: Any) -> Answer:
        return await self.call(token, service, "GET", path, params=params)

    async def post(self, token: str, service: str, path: str, body: Any) -> Answer:
        return await self.call(token, service, "POST", path, json=body)
