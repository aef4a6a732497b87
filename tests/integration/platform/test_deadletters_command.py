"""`repairline deadletters`: list, show and an idempotent redrive once the cause is fixed."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import pytest

from repairline_contracts.topics import INTAKE_EVENTS
from repairline_ops.main import main
from repairline_platform.runtime import Runtime
from tests.integration.platform.dispatch import (
    add_engineer,
    assignments,
    consumed,
    database_of,
    dispatch_runtime,
)
from tests.support.factories import repair_requested
from tests.support.system import PG, drop_database, envelope_bytes, eventually, produce

_SERVICE_LOG = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


@pytest.fixture
async def dispatch(prefix: str) -> AsyncIterator[Runtime]:
    rt = dispatch_runtime(prefix)
    await rt.start()
    await add_engineer(rt)
    try:
        yield rt
    finally:
        await rt.stop()
        await drop_database(database_of(prefix))


async def deadletters(
    prefix: str, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["deadletters", "--pg-dsn", PG, "--database", database_of(prefix), *args]
    )
    # the service runs in this process: its log lines, written meanwhile, are not the
    # command's output
    lines = capsys.readouterr().out.splitlines(keepends=True)
    return code, "".join(line for line in lines if not _SERVICE_LOG.match(line))


async def test_redrive_applies_a_dead_lettered_event_once_after_its_cause_is_fixed(
    dispatch: Runtime, prefix: str, capsys: pytest.CaptureFixture[str]
):
    request = repair_requested()
    # the cause: a table the assignment needs is missing (a migration not yet run)
    await dispatch.pool.execute("alter table engineer_jobs rename to engineer_jobs_moved")
    await produce(prefix + INTAKE_EVENTS, [(request.ticket_id.encode(), envelope_bytes(request))])
    await eventually(lambda: _equals(consumed(dispatch, "dispatch.assignment"), 1))
    assert await assignments(dispatch, request.ticket_id) == 0

    code, listed = await deadletters(prefix, capsys, "--json", "list")
    assert code == 0
    [letter] = [d for d in json.loads(listed) if d["consumer"] == "dispatch.assignment"]
    assert letter["status"] == "dead"
    assert "UndefinedTableError" in letter["error"]
    code, shown = await deadletters(prefix, capsys, "show", letter["name"])
    assert code == 0 and request.ticket_id in json.loads(shown)["excerpt"]

    await dispatch.pool.execute("alter table engineer_jobs_moved rename to engineer_jobs")
    code, out = await deadletters(prefix, capsys, "redrive", letter["name"])
    assert code == 0 and out.startswith("1 dead letter")

    await eventually(lambda: _equals(assignments(dispatch, request.ticket_id), 1))
    code, listed = await deadletters(prefix, capsys, "--json", "list", "--pending")
    assert letter["name"] not in listed
    # a second redrive finds nothing to do and applies nothing twice
    code, out = await deadletters(prefix, capsys, "redrive", letter["name"])
    assert code == 1 and out.startswith("0 dead letter")
    await dispatch.redriver.redrive_requested()
    assert await assignments(dispatch, request.ticket_id) == 1


async def test_a_redrive_whose_cause_is_not_fixed_records_why_and_stays_pending(
    dispatch: Runtime, prefix: str, capsys: pytest.CaptureFixture[str]
):
    await produce(prefix + INTAKE_EVENTS, [(b"k", b"not json")])
    await eventually(lambda: _equals(consumed(dispatch, "dispatch.assignment"), 1))
    name = f"dispatch.assignment@{prefix}{INTAKE_EVENTS}/"
    _, listed = await deadletters(
        prefix, capsys, "--json", "list", "--consumer", "dispatch.assignment"
    )
    [letter] = json.loads(listed)
    assert letter["name"].startswith(name)

    await deadletters(prefix, capsys, "redrive", "--consumer", "dispatch.assignment")
    assert dispatch.redriver is not None
    await dispatch.redriver.redrive_requested()

    _, listed = await deadletters(prefix, capsys, "--json", "list", "--pending")
    [again] = json.loads(listed)
    assert again["status"] == "failed again" and "not JSON" in again["error"]


async def _equals(awaitable, expected) -> bool:
    return (await awaitable) == expected
