"""A service's real HTTP app over a runtime opened on the real PostgreSQL (no broker):
its routes, edge bounds, access and error answers, called in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from repairline_platform.runtime import Runtime, build_app
from tests.support.auth import EVERYONE, bearer


@asynccontextmanager
async def served(rt: Runtime, token: str = EVERYONE) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `rt`'s service app, calling with `token`."""
    app = build_app(rt.spec)
    app.state.runtime = rt
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://{rt.spec.name}", headers=bearer(token)
    ) as http:
        yield http
