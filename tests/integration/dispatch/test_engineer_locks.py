"""DSP-1 with concurrent decisions on the real PostgreSQL: requests assigned at the same
time (two replicas, or two reactions of one) never give an engineer more open jobs than
his capacity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from repairline_contracts.base import Event
from repairline_contracts.dispatch import EngineerAssigned
from repairline_contracts.envelope import Envelope
from repairline_dispatch import commands
from repairline_dispatch.main import ctx
from repairline_dispatch.schemas import EngineerIn
from repairline_platform.eventstore import Delivered
from repairline_platform.runtime import Runtime
from tests.integration.platform.dispatch import dispatch_storage
from tests.support.factories import repair_requested
from tests.support.infra import envelope_bytes

ENGINEER = "eng-cap-1"
REQUESTS = 6


@pytest.fixture
async def dispatch(prefix: str) -> AsyncIterator[Runtime]:
    async with dispatch_storage(prefix) as rt:
        yield rt


async def _react(rt: Runtime, event: Event) -> None:
    """Intake's request applied by dispatch's reaction, in a unit of its own."""
    reactions = next(h for h in rt.handlers if h.name == "assignment")
    envelope = Envelope.from_bytes(envelope_bytes(event))
    async with rt.unit_of_work() as uow:
        await reactions.handle(uow, [Delivered(envelope, envelope.event())])


async def _assigned_to(rt: Runtime, engineer_id: str) -> int:
    return await rt.pool.fetchval(
        "select count(*) from events where event_type = $1"
        " and (envelope::jsonb -> 'data' ->> 'engineer_id') = $2",
        EngineerAssigned.event_type,
        engineer_id,
    )


async def test_dsp_1_concurrent_assignments_respect_capacity(dispatch: Runtime) -> None:
    one_place = EngineerIn(
        name="Zhang Min", region="cn-east", skills=["instant_water_heater"], capacity=1
    )
    await commands.change_engineer(one_place.command(ENGINEER), ctx(dispatch))

    await asyncio.gather(*(_react(dispatch, repair_requested()) for _ in range(REQUESTS)))

    assert await _assigned_to(dispatch, ENGINEER) == 1
    open_jobs = await dispatch.pool.fetchval(
        "select count(*) from engineer_jobs where engineer_id = $1 and open", ENGINEER
    )
    assert open_jobs == 1
