"""The dispatcher's alerts through dispatch's real HTTP app on the real PostgreSQL: of one
ticket (`ticket_id`), of one kind; an unknown kind or query parameter is a 422 naming it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from repairline_contracts.dispatch import AssignmentWaiting
from repairline_dispatch.projections import DispatchBoard
from repairline_platform.runtime import Runtime
from repairline_rules import load_pack
from tests.support.served import served
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)


def waiting(ticket_id: str) -> AssignmentWaiting:
    return AssignmentWaiting(
        ticket_id=ticket_id,
        region="cn-east",
        skill="instant_water_heater",
        reason="no engineer with the skill on duty (DSP-1)",
        since=NOW,
    )


async def _alerts(rt: Runtime, *events: AssignmentWaiting) -> None:
    async with rt.unit_of_work() as uow:
        await DispatchBoard().handle(uow, delivered(list(events), at=NOW, pack=PACK))


async def test_alerts_of_one_ticket_and_one_kind(runtime_of):
    rt = await runtime_of("dispatch")
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    await _alerts(rt, waiting(mine), waiting(other))
    async with served(rt) as http:
        answer = await http.get("/alerts", params={"ticket_id": mine})
        assert answer.status_code == 200, answer.json()
        assert [(a["ticket_id"], a["kind"]) for a in answer.json()] == [(mine, "unassignable")]
        both = await http.get("/alerts", params={"kind": "unassignable"})
        assert {a["ticket_id"] for a in both.json()} == {mine, other}
        none = await http.get("/alerts", params={"kind": "sla_breached", "ticket_id": mine})
        assert none.json() == []


async def test_an_unknown_alert_kind_or_query_parameter_is_a_422_naming_it(runtime_of):
    rt = await runtime_of("dispatch")
    async with served(rt) as http:
        for params, field in [({"kind": "bogus"}, "kind"), ({"ticket": "t1"}, "ticket")]:
            answer = await http.get("/alerts", params=params)
            assert answer.status_code == 422, answer.json()
            assert answer.json()["error"] == "validation_failed"
            assert [e["field"] for e in answer.json()["errors"]] == [field]
        reason = (await http.get("/alerts", params={"kind": "bogus"})).json()["errors"][0]
        assert "sla_breached" in reason["reason"]  # the known kinds are listed
