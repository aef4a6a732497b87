"""Dispatch's consumers: the assignment reaction and its board projection."""

from __future__ import annotations

from collections.abc import Sequence

from repairline_contracts import topics
from repairline_contracts.dispatch import (
    ArrivedOnSite,
    AssignmentWaiting,
    EngineerAssigned,
    RepairCompleted,
)
from repairline_contracts.intake import RepairRequested
from repairline_dispatch import domain
from repairline_platform.eventstore import Delivered, UnitOfWork


async def load_engineers(uow: UnitOfWork, *, region: str, skill: str) -> list[domain.Engineer]:
    rows = await uow.conn.fetch(
        "select e.engineer_id, e.region, e.skills, e.active,"
        " (select count(*) from engineer_jobs j where j.engineer_id = e.engineer_id and j.open)"
        " as open_jobs"
        " from engineers e where e.region = $1 and $2 = any(e.skills) and e.active",
        region,
        skill,
    )
    return [
        domain.Engineer(
            engineer_id=r["engineer_id"],
            region=r["region"],
            skills=frozenset(r["skills"]),
            open_jobs=r["open_jobs"],
            active=r["active"],
        )
        for r in rows
    ]


async def assign(
    uow: UnitOfWork, ticket_id: str, *, region: str, skill: str, correlation_id: str, causation: str
) -> None:
    """DSP-1 for one ticket, with its effects on the load and waiting tables."""
    events = await uow.load_stream(ticket_id)
    visit = domain.fold(ticket_id, events)
    engineers = await load_engineers(uow, region=region, skill=skill)
    decided = domain.decide_assignment(visit, engineers, region=region, skill=skill, now=uow.now())
    if decided is None:
        return
    await uow.append(
        ticket_id,
        [decided],
        expected_version=len(events),
        correlation_id=correlation_id,
        causation_id=causation,
        region=region,
    )
    if isinstance(decided, EngineerAssigned):
        await uow.conn.execute(
            "insert into engineer_jobs (ticket_id, engineer_id, open) values ($1, $2, true)",
            ticket_id,
            decided.engineer_id,
        )
        await uow.conn.execute("delete from waiting_tickets where ticket_id = $1", ticket_id)
    else:
        await uow.conn.execute(
            "insert into waiting_tickets (ticket_id, region, skill, since, correlation_id)"
            " values ($1, $2, $3, $4, $5) on conflict do nothing",
            ticket_id,
            region,
            skill,
            uow.now(),
            correlation_id,
        )


class AssignOnRequest:
    """On RepairRequested: give the ticket to an engineer, or make it visibly wait."""

    name = "assignment"
    topics = (topics.INTAKE_EVENTS,)
    event_types = frozenset({RepairRequested.event_type})

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            event = item.event
            assert isinstance(event, RepairRequested)
            await assign(
                uow,
                event.ticket_id,
                region=event.region,
                skill=event.product.line,
                correlation_id=item.envelope.correlationid,
                causation=item.envelope.id,
            )


_RANK = {
    AssignmentWaiting.event_type: (domain.VisitState.WAITING, 10),
    EngineerAssigned.event_type: (domain.VisitState.ASSIGNED, 20),
    ArrivedOnSite.event_type: (domain.VisitState.ON_SITE, 30),
    RepairCompleted.event_type: (domain.VisitState.COMPLETED, 40),
}


class DispatchBoard:
    """Projection: each ticket's visit state, engineer and why it waits."""

    name = "board"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset(_RANK)
    tables = ("dispatch_board",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = []
        for item in items:
            state, rank = _RANK[item.envelope.type]
            e = item.event
            rows.append(
                (
                    e.ticket_id,
                    state.value,
                    rank,
                    getattr(e, "engineer_id", None),
                    getattr(e, "region", None),
                    getattr(e, "skill", None),
                    e.reason if isinstance(e, AssignmentWaiting) else None,
                    item.envelope.time,
                )
            )
        await uow.conn.executemany(
            """
            insert into dispatch_board as b
                (ticket_id, state, state_rank, engineer_id, region, skill, waiting_reason,
                 updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8)
            on conflict (ticket_id) do update set
                state = case when excluded.state_rank > b.state_rank
                             then excluded.state else b.state end,
                state_rank = greatest(b.state_rank, excluded.state_rank),
                engineer_id = coalesce(excluded.engineer_id, b.engineer_id),
                region = coalesce(excluded.region, b.region),
                skill = coalesce(excluded.skill, b.skill),
                waiting_reason = coalesce(b.waiting_reason, excluded.waiting_reason),
                updated_at = greatest(b.updated_at, excluded.updated_at)
            """,
            rows,
        )
