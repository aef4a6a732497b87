"""Intake's reactions to other contexts' events, and its timers (none).

Intake reads dispatch's, billing's and feedback's events to show a ticket's whole status
(its `TicketView` projection). One of them makes intake decide: the engineer's inspection
at the unit (dispatch's `InspectionRecorded`) decides the warranty again on what he found
(WAR-3, WAR-4), keeping the recorded proof he did not state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from repairline_contracts import topics
from repairline_contracts.dispatch import InspectionRecorded
from repairline_intake import commands
from repairline_intake.commands import Intake
from repairline_intake.domain import ticket
from repairline_platform.commands import reacting_to
from repairline_platform.eventstore import Delivered, Handler, UnitOfWork
from repairline_platform.logging import get_logger
from repairline_platform.timers import TimerHandler
from repairline_rules.refusals import DomainError

log = get_logger(__name__)


class WarrantyOnInspection:
    """WAR-3, WAR-4: an inspection decides the ticket's warranty on the proof recorded
    with what the engineer stated added; on a ticket that is closed (or unknown) it is
    noted in the log and decides nothing."""

    name = "warranty-on-inspection"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset({InspectionRecorded.event_type})

    def __init__(self, rt: Any) -> None:
        self.rt = rt

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        intake = Intake(_within(uow), self.rt.pack_now)
        for item in items:
            with reacting_to(item.envelope):
                try:
                    await commands.decide_warranty(inspected(item.event), intake)
                except DomainError as exc:
                    log.info("inspection not applied", ticket_id=item.event.ticket_id, why=str(exc))


def inspected(event: InspectionRecorded) -> ticket.DecideWarranty:
    """The warranty decision the inspection asks for: only the fields it states."""
    stated = event.stated()
    if "supply_voltage_v" in stated:
        stated["supply_voltage_v"] = Decimal(str(stated["supply_voltage_v"]))
    return ticket.DecideWarranty(event.ticket_id, ticket.ProofFacts(**stated), frozenset(stated))


def _within(uow: UnitOfWork) -> Any:
    """The consumer's unit of work, for a command that runs inside it."""

    @asynccontextmanager
    async def unit() -> AsyncIterator[UnitOfWork]:
        yield uow

    return unit


def reactions(rt: Any) -> Sequence[Handler]:
    """The subscribers that turn other contexts' events into intake commands."""
    return (WarrantyOnInspection(rt),)


def timers(rt: Any) -> Mapping[str, TimerHandler]:
    """The timer handlers that turn a due timer into an intake command."""
    return {}
