"""Dispatch decisions: pure functions, no I/O, no clock (times are passed in)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from repairline_contracts.base import Event
from repairline_contracts.dispatch import (
    ArrivedOnSite,
    AssignmentWaiting,
    EngineerAssigned,
    RepairCompleted,
)


class VisitState(StrEnum):
    NEW = "new"
    WAITING = "waiting_for_engineer"
    ASSIGNED = "assigned"
    ON_SITE = "on_site"
    COMPLETED = "completed"


@dataclass(frozen=True)
class Engineer:
    engineer_id: str
    region: str
    skills: frozenset[str]
    open_jobs: int
    active: bool = True


@dataclass(frozen=True)
class Visit:
    """The ticket as dispatch sees it: a fold of dispatch's own events."""

    ticket_id: str
    state: VisitState = VisitState.NEW
    engineer_id: str | None = None
    region: str | None = None
    skill: str | None = None


class IllegalTransition(Exception):
    def __init__(self, message: str, state: VisitState) -> None:
        super().__init__(message)
        self.state = state


def evolve(visit: Visit, event: Event) -> Visit:
    match event:
        case AssignmentWaiting():
            return replace(visit, state=VisitState.WAITING, region=event.region, skill=event.skill)
        case EngineerAssigned():
            return replace(
                visit,
                state=VisitState.ASSIGNED,
                engineer_id=event.engineer_id,
                region=event.region,
                skill=event.skill,
            )
        case ArrivedOnSite():
            return replace(visit, state=VisitState.ON_SITE)
        case RepairCompleted():
            return replace(visit, state=VisitState.COMPLETED)
    return visit


def fold(ticket_id: str, events: Iterable[Event]) -> Visit:
    visit = Visit(ticket_id)
    for event in events:
        visit = evolve(visit, event)
    return visit


def choose_engineer(engineers: Sequence[Engineer], *, region: str, skill: str) -> Engineer | None:
    """DSP-1: an active engineer of the ticket's region and skill with the fewest open jobs.

    Ties go to the lowest engineer id so the choice is reproducible on replay.
    """
    able = [e for e in engineers if e.active and e.region == region and skill in e.skills]
    if not able:
        return None
    return min(able, key=lambda e: (e.open_jobs, e.engineer_id))


def decide_assignment(
    visit: Visit, engineers: Sequence[Engineer], *, region: str, skill: str, now: datetime
) -> Event | None:
    """DSP-1: assign, or record that the ticket waits for an engineer. None: nothing to do."""
    if visit.state not in (VisitState.NEW, VisitState.WAITING):
        return None
    chosen = choose_engineer(engineers, region=region, skill=skill)
    if chosen is None:
        if visit.state is VisitState.WAITING:
            return None
        return AssignmentWaiting(
            ticket_id=visit.ticket_id,
            region=region,
            skill=skill,
            reason=f"no active engineer in region {region} with skill {skill}",
            since=now,
        )
    return EngineerAssigned(
        ticket_id=visit.ticket_id,
        engineer_id=chosen.engineer_id,
        region=region,
        skill=skill,
        open_jobs_before=chosen.open_jobs,
        reason=(
            f"DSP-1: fewest open jobs ({chosen.open_jobs}) among active engineers"
            f" of region {region} with skill {skill}"
        ),
        assigned_at=now,
    )


def decide_arrival(visit: Visit, *, engineer_id: str | None, now: datetime) -> ArrivedOnSite:
    if visit.state is not VisitState.ASSIGNED:
        raise IllegalTransition(
            f"arrival needs an assigned engineer; the ticket is {visit.state.value}", visit.state
        )
    if engineer_id is not None and engineer_id != visit.engineer_id:
        raise IllegalTransition(
            f"engineer {engineer_id} is not the one assigned ({visit.engineer_id})", visit.state
        )
    assert visit.engineer_id is not None
    return ArrivedOnSite(ticket_id=visit.ticket_id, engineer_id=visit.engineer_id, arrived_at=now)


def decide_completion(visit: Visit, *, resolution: str, now: datetime) -> RepairCompleted:
    if visit.state is VisitState.COMPLETED:
        raise IllegalTransition("the repair is already completed", visit.state)
    if visit.state is not VisitState.ON_SITE:
        raise IllegalTransition(
            f"completion needs the engineer on site first; the ticket is {visit.state.value}",
            visit.state,
        )
    assert visit.engineer_id is not None
    return RepairCompleted(
        ticket_id=visit.ticket_id,
        engineer_id=visit.engineer_id,
        completed_at=now,
        resolution=resolution,
    )
