"""One error hierarchy for every domain: what a decision can refuse, and why.

The platform's command path turns each kind into one HTTP answer (see
`repairline_platform.commands`), so domains never import HTTP and routes never
translate exceptions by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DomainError(Exception):
    """Base of every refusal a domain decision can raise."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IllegalTransition(DomainError):
    """The command does not apply in the aggregate's current state (HTTP 409)."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class NotCaughtUp(IllegalTransition):
    """The command depends on another context's fact newer than this service has seen
    (the caller names the version it was told): try again shortly (HTTP 409)."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message, "not_caught_up")
        self.retry_after = retry_after


class NotFound(DomainError):
    """The aggregate the command names does not exist (HTTP 404)."""


class InvalidInput(DomainError):
    """A well-formed request whose value the rules refuse, naming the field (HTTP 422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Refused(DomainError):
    """A rule refuses the request; the refusal itself may be a fact to record (HTTP 422).

    `events` are appended before the refusal is answered (INT-4 records why a request
    was refused), so the log keeps what the caller was told.
    """

    def __init__(
        self, message: str, *, rule_id: str, events: Sequence[Any] = (), **details: Any
    ) -> None:
        super().__init__(message)
        self.rule_id = rule_id
        self.events = tuple(events)
        self.details = details
