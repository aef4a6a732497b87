"""Dispatch HTTP API: the engineer roster and the engineer's visit commands."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field

from repairline_dispatch import domain
from repairline_dispatch.handlers import assign
from repairline_platform.http import Conflict, NotFound
from repairline_platform.logging import get_logger
from repairline_platform.runtime import Runtime

log = get_logger(__name__)


class EngineerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    region: str = Field(min_length=1, max_length=50)
    skills: list[str] = Field(min_length=1, description="Product lines the engineer repairs.")
    active: bool = True


class ArrivalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engineer_id: str | None = Field(default=None, description="Checked against the assignment.")


class CompletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(min_length=1, max_length=2000, description="What was done.")


def routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["dispatch"])

    @router.put("/engineers/{engineer_id}")
    async def put_engineer(engineer_id: str, body: EngineerIn) -> dict[str, Any]:
        """Add or change an engineer; tickets waiting for such an engineer are assigned."""
        async with rt.unit_of_work() as uow:
            await uow.conn.execute(
                "insert into engineers (engineer_id, name, region, skills, active, updated_at)"
                " values ($1, $2, $3, $4, $5, $6) on conflict (engineer_id) do update set"
                " name = excluded.name, region = excluded.region, skills = excluded.skills,"
                " active = excluded.active, updated_at = excluded.updated_at",
                engineer_id,
                body.name,
                body.region,
                sorted(set(body.skills)),
                body.active,
                uow.now(),
            )
            waiting = await uow.conn.fetch(
                "select ticket_id, region, skill, correlation_id from waiting_tickets"
                " where region = $1 and skill = any($2::text[]) order by since",
                body.region,
                body.skills,
            )
            for w in waiting:
                await assign(
                    uow,
                    w["ticket_id"],
                    region=w["region"],
                    skill=w["skill"],
                    correlation_id=w["correlation_id"],
                    causation=f"engineer:{engineer_id}",
                )
        return {"engineer_id": engineer_id, **body.model_dump(), "assigned_waiting": len(waiting)}

    @router.get("/engineers")
    async def list_engineers() -> list[dict[str, Any]]:
        rows = await rt.pool.fetch(
            "select e.engineer_id, e.name, e.region, e.skills, e.active,"
            " (select count(*) from engineer_jobs j where j.engineer_id = e.engineer_id"
            "  and j.open) as open_jobs from engineers e order by e.engineer_id"
        )
        return [dict(r) for r in rows]

    async def _command(ticket_id: str, decide: Any, correlation_id: str | None) -> dict[str, Any]:
        async with rt.unit_of_work() as uow:
            events = await uow.load_stream(ticket_id)
            if not events:
                raise NotFound(f"dispatch has no ticket {ticket_id}")
            visit = domain.fold(ticket_id, events)
            try:
                event = decide(visit, uow.now())
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state.value) from exc
            cid = correlation_id or str(uuid.uuid4())
            [env] = await uow.append(
                ticket_id,
                [event],
                expected_version=len(events),
                correlation_id=cid,
                causation_id=f"http:{cid}",
                region=visit.region,
            )
            if event.event_type == "repairline.dispatch.RepairCompleted":
                await uow.conn.execute(
                    "update engineer_jobs set open = false where ticket_id = $1", ticket_id
                )
        log.info("visit updated", ticket_id=ticket_id, event_id=env.id, correlation_id=cid)
        return {"ticket_id": ticket_id, "event": env.type, "event_id": env.id}

    @router.post("/tickets/{ticket_id}/arrival")
    async def arrival(
        ticket_id: str, body: ArrivalIn, x_correlation_id: str | None = Header(default=None)
    ) -> dict[str, Any]:
        """The assigned engineer is at the customer's address (ArrivedOnSite)."""
        return await _command(
            ticket_id,
            lambda v, now: domain.decide_arrival(v, engineer_id=body.engineer_id, now=now),
            x_correlation_id,
        )

    @router.post("/tickets/{ticket_id}/completion")
    async def completion(
        ticket_id: str, body: CompletionIn, x_correlation_id: str | None = Header(default=None)
    ) -> dict[str, Any]:
        """The repair is done and signed for (RepairCompleted)."""
        return await _command(
            ticket_id,
            lambda v, now: domain.decide_completion(v, resolution=body.resolution, now=now),
            x_correlation_id,
        )

    @router.get("/tickets/{ticket_id}")
    async def board(ticket_id: str) -> dict[str, Any]:
        row = await rt.pool.fetchrow("select * from dispatch_board where ticket_id = $1", ticket_id)
        if row is None:
            raise NotFound(f"dispatch has no ticket {ticket_id}")
        return dict(row)

    return router
