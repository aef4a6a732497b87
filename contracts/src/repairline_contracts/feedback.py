"""Events published by feedback on `repairline.feedback.events`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from repairline_contracts.base import Decision, Event
from repairline_contracts.topics import FEEDBACK_EVENTS


class CallbackScheduled(Event):
    """A follow-up call was put on the schedule (FBK-1, FBK-2)."""

    event_type: ClassVar[str] = "repairline.feedback.CallbackScheduled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    callback_id: str
    due_at: datetime
    reason: str = Field(description="What the callback follows up, e.g. `after_service`.")
    decision: Decision


class CallbackDue(Event):
    """A scheduled callback has come due and goes on the agents' list."""

    event_type: ClassVar[str] = "repairline.feedback.CallbackDue"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    callback_id: str
    due_at: datetime
    fired_at: datetime


# Every event this context publishes, for the registry.
EVENTS: tuple[type[Event], ...] = (
    CallbackScheduled,
    CallbackDue,
)
