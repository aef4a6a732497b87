"""The morning callback list (FBK-2) as each role is shown it, on the real PostgreSQL:
quality calls the customers and sees their numbers; an analyst sees masked phones and
the export's pseudonyms; a dispatcher sees his regions' customers only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from repairline_contracts.dispatch import RepairCompleted
from repairline_feedback import views
from repairline_feedback.projections import Served
from repairline_platform import personal
from repairline_platform.auth import Principal, bound_principal
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from tests.support.factories import repair_requested
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)
KEY = "a-test-only-key-of-32-characters"


def caller(role: str, regions: tuple[str, ...] = ()) -> Principal:
    p = Principal(f"sub-{role}", frozenset({role}), regions=frozenset(regions))
    return p.acting(frozenset({role}))


async def _served(rt: Runtime, region: str) -> str:
    requested = repair_requested(region=region)
    done = RepairCompleted(
        ticket_id=requested.ticket_id, engineer_id="eng-1", completed_at=NOW, resolution="ok"
    )
    async with rt.unit_of_work() as uow:
        await Served().handle(uow, delivered([requested, done], at=NOW, pack=PACK))
    return requested.ticket_id


async def _to_call(rt: Runtime, who: Principal) -> list[dict[str, Any]]:
    with bound_principal(who):
        listed = await views.morning_list(rt.pool, PACK, date(2030, 6, 5))
    return listed["to_call"]


@pytest.fixture
def hash_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REPAIRLINE_EXPORT_HASH_KEY", KEY)
    personal.configured_hasher.cache_clear()
    yield personal.Hasher(KEY.encode())
    personal.configured_hasher.cache_clear()


async def test_fbk_2_the_morning_list_masks_phones_for_an_analyst(runtime_of, hash_key):
    rt = await runtime_of("feedback")
    await _served(rt, "cn-east")
    [call] = await _to_call(rt, caller("analyst"))
    assert call["mobile"] == "139****0000"
    assert call["mobile_key"] == hash_key("mobile", "13900000000")  # the export's pseudonym
    assert call["customer_name"] == hash_key("name", "Test Customer")
    assert "13900000000" not in str(call) and "Test Customer" not in str(call)


async def test_fbk_2_quality_sees_the_numbers_it_calls(runtime_of):
    rt = await runtime_of("feedback")
    await _served(rt, "cn-east")
    [call] = await _to_call(rt, caller("quality"))
    assert (call["mobile"], call["customer_name"]) == ("13900000000", "Test Customer")


async def test_fbk_2_billing_sees_masked_phones_and_names(runtime_of):
    rt = await runtime_of("feedback")
    await _served(rt, "cn-east")
    [call] = await _to_call(rt, caller("billing"))
    assert (call["mobile"], call["customer_name"]) == ("139****0000", "T*")


async def test_fbk_2_a_dispatcher_of_cn_east_lists_only_cn_east_customers(runtime_of):
    rt = await runtime_of("feedback")
    east = await _served(rt, "cn-east")
    await _served(rt, "cn-north")
    calls = await _to_call(rt, caller("dispatcher", ("cn-east",)))
    assert [c["ticket_id"] for c in calls] == [east]
    assert len(await _to_call(rt, caller("quality"))) == 2
