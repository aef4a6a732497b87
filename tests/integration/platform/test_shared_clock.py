"""The simulated clock lives in the database: every instance of a service shows it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.support.system import ServiceProcess, drop_database, eventually


@pytest.fixture
def two_intakes(prefix: str) -> Iterator[list[ServiceProcess]]:
    database = f"{prefix.rstrip('.')}_intake"
    procs = [ServiceProcess("intake", prefix=prefix, database=database) for _ in range(2)]
    try:
        yield [p.start() for p in procs]
    finally:
        for p in procs:
            p.terminate()


@pytest.fixture(autouse=True)
async def _drop_database(prefix: str):
    yield
    await drop_database(f"{prefix.rstrip('.')}_intake")


def now(proc: ServiceProcess) -> datetime:
    _, body = proc.request("GET", "/admin/clock")
    return datetime.fromisoformat(body["now"])


async def test_an_advance_on_one_instance_moves_the_other_and_advances_add_up(two_intakes):
    a, b = two_intakes
    before = now(b)
    results = await asyncio.gather(
        *(asyncio.to_thread(p.request, "POST", "/admin/clock/advance", {"days": 1}) for p in (a, b))
    )
    assert [status for status, _ in results] == [200, 200]

    async def both_two_days_on() -> bool:
        return all(now(p) - before >= timedelta(days=2) for p in (a, b))

    await eventually(both_two_days_on, timeout=10)
    assert abs(now(a) - now(b)) < timedelta(seconds=5)


async def test_an_advance_beyond_ten_years_is_refused_naming_the_field(two_intakes):
    status, body = two_intakes[0].request("POST", "/admin/clock/advance", {"days": 3_000_000})
    assert status == 422
    assert body["errors"][0]["field"] == "days"
    assert two_intakes[0].request("GET", "/admin/clock")[0] == 200
