"""Two packs in one dispatch, on the real PostgreSQL: the deployment's mapping sends
notebooks to pc-depot and everything else to water-heater. Each request is assigned by the
pack its events name, and the free windows of a product line follow the business hours of
the pack its engineers work under (DSP-1, DSP-2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from repairline_contracts.envelope import Envelope, wrap
from repairline_dispatch import commands
from repairline_dispatch.main import ctx
from repairline_dispatch.schemas import EngineerIn
from repairline_platform.eventstore import Delivered
from repairline_platform.runtime import Runtime
from tests.integration.dispatch.test_desk_routes import starts
from tests.integration.platform.dispatch import dispatch_storage
from tests.support.auth import token
from tests.support.factories import repair_requested
from tests.support.served import served

MONDAY = date(2026, 6, 22)  # after the Dragon Boat holidays of both packs


@pytest.fixture
async def dispatch(prefix: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    routing = tmp_path / "routing.toml"
    routing.write_text(
        'default = "water-heater"\n\n[[routes]]\npack = "pc-depot"\nproduct_lines = ["notebook"]\n',
        "utf-8",
    )
    async with dispatch_storage(
        prefix, clock_date=date(2026, 6, 18), pack_routing=str(routing)
    ) as rt:
        yield rt


async def _engineer(rt: Runtime, engineer_id: str, line: str) -> None:
    """An engineer without hours of his own: he works his pack's business hours."""
    body = EngineerIn(name=engineer_id, region="cn-east", skills=[line], capacity=4)
    await commands.change_engineer(body.command(engineer_id), ctx(rt))


async def _requested(rt: Runtime, line: str, pack: str) -> str:
    """Intake's request of a `line` ticket, its events naming `pack`, reacted to."""
    event = repair_requested(line=line)
    envelope = wrap(
        event,
        event_id=f"intake-{event.ticket_id}",
        source="/intake",
        time=datetime.now(UTC),
        region="cn-east",
        policy_pack=pack,
        policy_version=rt.packs.versions(pack)[0].version,
        correlation_id=event.ticket_id,
        causation_id="tests",
        stream_version=1,
    )
    reactions = next(h for h in rt.handlers if h.name == "assignment")
    async with rt.unit_of_work() as uow:
        await reactions.handle(uow, [Delivered(envelope, envelope.event())])
    return event.ticket_id


async def test_dsp_1_each_request_is_assigned_by_the_pack_its_events_name(dispatch):
    await _engineer(dispatch, "eng-pc", "notebook")
    await _engineer(dispatch, "eng-wh", "instant_water_heater")
    notebook = await _requested(dispatch, "notebook", "pc-depot")
    heater = await _requested(dispatch, "instant_water_heater", "water-heater")
    rows = await dispatch.pool.fetch(
        "select stream_id, envelope from events where stream_id = any($1::text[])",
        [notebook, heater],
    )
    assigned = {r["stream_id"]: Envelope.model_validate_json(r["envelope"]) for r in rows}
    assert {t: e.type.rsplit(".", 1)[-1] for t, e in assigned.items()} == {
        notebook: "EngineerAssigned",
        heater: "EngineerAssigned",
    }
    assert assigned[notebook].policypack == "pc-depot"
    assert assigned[notebook].data["decision"]["pack_id"] == "pc-depot"
    assert assigned[notebook].data["engineer_id"] == "eng-pc"
    assert assigned[heater].policypack == "water-heater"
    assert assigned[heater].data["decision"]["pack_id"] == "water-heater"


async def test_dsp_2_free_windows_follow_the_hours_of_each_product_lines_pack(dispatch):
    await _engineer(dispatch, "eng-pc", "notebook")
    await _engineer(dispatch, "eng-wh", "instant_water_heater")
    query = {"region": "cn-east", "from": MONDAY.isoformat(), "limit": 4}
    async with served(dispatch, token("agent", regions=["cn-east"])) as http:
        notebook = await http.get("/windows", params={**query, "product_line": "notebook"})
        heater = await http.get(
            "/windows", params={**query, "product_line": "instant_water_heater"}
        )
    # pc-depot's depots open 09:00-18:00 without a break
    assert starts(notebook) == ["06-22 09:00", "06-22 10:00", "06-22 11:00", "06-22 12:00"]
    # water-heater's outlets 08:30-12:00 and 13:30-17:30
    assert starts(heater) == ["06-22 08:30", "06-22 09:30", "06-22 10:30", "06-22 13:30"]
