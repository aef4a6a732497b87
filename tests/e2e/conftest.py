"""The four services as processes on the test's own topics and databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.system import ServiceProcess, database_of, drop_database

NAMES = ("intake", "dispatch", "billing", "feedback")


@pytest.fixture
async def services(prefix: str) -> AsyncIterator[dict[str, ServiceProcess]]:
    """Intake, dispatch, billing and feedback on their default pack, stopped and their
    databases dropped afterwards."""
    procs = {
        name: ServiceProcess(name, prefix=prefix, database=database_of(prefix, name))
        for name in NAMES
    }
    try:
        for proc in procs.values():
            proc.start()
        yield procs
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            await drop_database(proc.database)
