"""A service's real HTTP app on the database of a runtime the test opened (the real
PostgreSQL, no broker): its routes, edge bounds, access and error answers, in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from repairline_platform.runtime import Runtime, build_app
from tests.support.auth import EVERYONE, bearer


@asynccontextmanager
async def served(rt: Runtime, token: str = EVERYONE) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `rt`'s service, calling with `token`; the app's own runtime opens
    the same database (migrated already) and closes its pool afterwards."""
    app = build_app(rt.spec, rt.settings)
    await app.state.runtime.open_storage()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{rt.spec.name}", headers=bearer(token)
        ) as http:
            yield http
    finally:
        await app.state.runtime.pool.close()
