"""The policy pack a command decides with: the one named on the ticket's events.

A deployment runs several packs (see `repairline_rules.routing`); a process has no pack
of its own. What decides is bound per command, like its correlation id: a reaction
binds the pack and version on the event it reacts to, a timer the ones it was scheduled
under, and a command on an existing stream the ones on that stream's first event when
nothing is bound, or always when the stream is one ticket's own (`Stream.own_pack`).
Intake binds the pack it chose for a new ticket. Appended events carry the bound pack,
so the pack travels with the ticket through every service and into replay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """A ticket's pack id and the version it was opened under (`policypack`,
    `policyversion` on its events)."""

    pack: str
    version: str


_policy: ContextVar[Policy | None] = ContextVar("repairline_policy", default=None)


@contextmanager
def deciding_with(policy: Policy | None) -> Iterator[Policy | None]:
    """Bind `policy` for the commands run inside the block (None leaves it unbound)."""
    token = _policy.set(policy)
    try:
        yield policy
    finally:
        _policy.reset(token)


def current_policy() -> Policy | None:
    """The bound policy, or None when nothing bound one."""
    return _policy.get()


def policy_of(pack: str | None, version: str | None) -> Policy | None:
    """The policy named by an event's extensions; None for events that name none."""
    return Policy(pack, version) if pack and version else None


@asynccontextmanager
async def bound_or(lookup: Callable[[], Awaitable[Policy | None]]) -> AsyncIterator[None]:
    """Keep the policy bound (the event or timer reacted to names it); with none bound,
    bind the one `lookup` finds (a service's copy of the ticket, one read), else leave it
    to the command path, which binds the one on its stream's first event."""
    policy = current_policy()
    with deciding_with(policy or await lookup()):
        yield
