"""Events published by dispatch on `repairline.dispatch.events`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from repairline_contracts.base import Event
from repairline_contracts.topics import DISPATCH_EVENTS


class EngineerAssigned(Event):
    """An engineer was given the ticket (DSP-1)."""

    event_type: ClassVar[str] = "repairline.dispatch.EngineerAssigned"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    region: str
    skill: str = Field(description="The product line the engineer was matched on.")
    open_jobs_before: int = Field(description="The engineer's open jobs when chosen.")
    reason: str = Field(description="Why this engineer was chosen.")
    assigned_at: datetime


class AssignmentWaiting(Event):
    """No engineer can take the ticket yet: it waits, visibly, instead of being dropped."""

    event_type: ClassVar[str] = "repairline.dispatch.AssignmentWaiting"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    region: str
    skill: str
    reason: str
    since: datetime


class ArrivedOnSite(Event):
    """The assigned engineer arrived at the customer's address."""

    event_type: ClassVar[str] = "repairline.dispatch.ArrivedOnSite"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    arrived_at: datetime


class RepairCompleted(Event):
    """The repair is done and the customer signed the repair order (DSP-12)."""

    event_type: ClassVar[str] = "repairline.dispatch.RepairCompleted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    completed_at: datetime
    resolution: str = Field(description="What was done.")


# Every event this context publishes, for the registry.
EVENTS: tuple[type[Event], ...] = (
    EngineerAssigned,
    AssignmentWaiting,
    ArrivedOnSite,
    RepairCompleted,
)
