"""Who may act on a visit: an engineer on his own jobs only, a dispatcher in his regions;
anything else is answered as if the ticket did not exist (404)."""

from __future__ import annotations

import pytest

from repairline_dispatch import commands
from repairline_dispatch.domain import visit
from repairline_platform.auth import Principal, bound_principal
from repairline_platform.commands import bound
from repairline_rules.refusals import NotFound
from tests.unit.dispatch.fakes import world
from tests.unit.dispatch.test_commands import assigned, types


def engineer_only(engineer_id: str) -> Principal:
    p = Principal(engineer_id, frozenset({"engineer"}), engineer_id=engineer_id)
    return p.acting(frozenset({"engineer"}))


def dispatcher_of(region: str) -> Principal:
    p = Principal(f"disp-{region}", frozenset({"dispatcher"}), regions=frozenset({region}))
    return p.acting(frozenset({"dispatcher", "engineer"}))


async def test_engineer_arrives_reports_parts_and_completes_his_own_job():
    w = await assigned(world())
    with bound("c", "http:c"), bound_principal(engineer_only("eng-1")):
        await commands.arrive(visit.Arrive("t1"), w.ctx)
        await commands.report_part(visit.ReportPart("t1", "pump", "needed"), w.ctx)
    assert types(w)[:2] == ["EngineerAssigned", "ArrivedOnSite"]


@pytest.mark.parametrize(
    "act",
    [
        lambda ctx: commands.arrive(visit.Arrive("t1"), ctx),
        lambda ctx: commands.report_part(visit.ReportPart("t1", "pump", "needed"), ctx),
        lambda ctx: commands.complete(visit.Complete("t1", "fixed"), ctx),
    ],
    ids=["arrival", "parts", "completion"],
)
async def test_engineer_cannot_act_on_another_engineers_job_404(act):
    w = await assigned(world())
    with (
        bound("c", "http:c"),
        bound_principal(engineer_only("eng-2")),
        pytest.raises(NotFound, match="no dispatch ticket t1"),
    ):
        await act(w.ctx)
    assert types(w) == ["EngineerAssigned"]


async def test_dispatcher_of_cn_north_cannot_act_on_a_cn_east_visit_404():
    w = await assigned(world())
    with (
        bound("c", "http:c"),
        bound_principal(dispatcher_of("cn-north")),
        pytest.raises(NotFound, match="no dispatch ticket t1"),
    ):
        await commands.arrive(visit.Arrive("t1"), w.ctx)
    with bound("c", "http:c"), bound_principal(dispatcher_of("cn-east")):
        await commands.arrive(visit.Arrive("t1"), w.ctx)
    assert types(w) == ["EngineerAssigned", "ArrivedOnSite"]
