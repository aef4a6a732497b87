"""Fixtures shared by the integration tests of several parts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest

from repairline_platform.runtime import Runtime
from tests.support.system import spec_of, storage


@pytest.fixture
async def runtime_of(prefix: str) -> AsyncIterator[Callable[[str], Awaitable[Runtime]]]:
    """Opens a service's storage (database migrated, no broker) on this test's prefix,
    by service name; each is closed and its database dropped afterwards."""
    async with AsyncExitStack() as stack:

        async def open_(name: str) -> Runtime:
            return await stack.enter_async_context(storage(spec_of(name), prefix))

        yield open_
