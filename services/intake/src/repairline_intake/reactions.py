"""Intake's reactions to other contexts' events, and its timers: none today.

Intake reads dispatch's, billing's and feedback's events only to show a ticket's whole
status, through its `TicketView` projection; nothing they say makes intake decide, and
no intake decision waits on a timer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from repairline_platform.eventstore import Handler
from repairline_platform.timers import TimerHandler


def reactions(rt: Any) -> Sequence[Handler]:
    """The subscribers that turn other contexts' events into intake commands."""
    return ()


def timers(rt: Any) -> Mapping[str, TimerHandler]:
    """The timer handlers that turn a due timer into an intake command."""
    return {}
