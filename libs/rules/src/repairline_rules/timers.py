"""What a decision asks to be checked later: a durable timer, one shape for every domain.

The command that decided schedules it in the same unit of work as its events
(`repairline_platform.commands.schedule_timers`); when `due_at` has passed, the service's
handler for `kind` runs the check on `stream_id` with `payload`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Due:
    """A check to run on `stream_id` once `due_at` has passed; `timer_id` makes it once."""

    timer_id: str
    kind: str
    stream_id: str
    due_at: datetime
    payload: dict[str, Any]
