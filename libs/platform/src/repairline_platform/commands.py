"""The one command path: load, fold, decide, append, retry; one result, one error answer.

Every HTTP command and every reaction of every service goes through `execute` (which
opens its own unit of work and retries on a concurrent write) or `run` (inside a unit
of work the caller holds, such as a consumer's batch). A command is a plain function
`decide(state, uow) -> events`; the state is the fold of the stream it names.

Correlation and causation ids come from the `CommandContext` bound by the HTTP
middleware (the caller's `X-Correlation-Id`) or by the consumer (the event being
reacted to), so the id a caller gets back is the one on the events.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from repairline_contracts.base import Event
from repairline_contracts.envelope import Envelope
from repairline_platform import tracing
from repairline_platform.eventstore import retry_on_concurrency
from repairline_platform.policy import Policy, current_policy, deciding_with, policy_of
from repairline_rules.refusals import NotFound, Refused
from repairline_rules.timers import Due

S = TypeVar("S")
U = TypeVar("U", bound="CommandUnit")


@dataclass(frozen=True)
class CommandContext:
    """Why a command runs: the conversation it belongs to and what caused it."""

    correlation_id: str
    causation_id: str


_context: ContextVar[CommandContext | None] = ContextVar("repairline_command_context", default=None)


@contextmanager
def bound(correlation_id: str, causation_id: str) -> Iterator[CommandContext]:
    """Bind the context for the commands run inside the block."""
    ctx = CommandContext(correlation_id=correlation_id, causation_id=causation_id)
    token = _context.set(ctx)
    try:
        yield ctx
    finally:
        _context.reset(token)


@contextmanager
def reacting_to(envelope: Envelope) -> Iterator[CommandContext]:
    """Bind the context of a reaction: the event's conversation, caused by the event, in
    its trace (a span continued from the event's `traceparent`)."""
    with (
        tracing.reaction(envelope.type, envelope.traceparent),
        bound(envelope.correlationid or envelope.id, envelope.id) as ctx,
        deciding_with(policy_of(envelope.policypack, envelope.policyversion) or current_policy()),
    ):
        yield ctx


def current_context() -> CommandContext:
    """The bound context, or a fresh conversation when nothing bound one."""
    ctx = _context.get()
    if ctx is None:
        cid = str(uuid.uuid4())
        ctx = CommandContext(correlation_id=cid, causation_id=f"internal:{cid}")
    return ctx


class CommandUnit(Protocol):
    """What commands need of a unit of work; PostgreSQL's and the in-memory fake."""

    def now(self) -> datetime: ...

    async def load_stream(self, stream_id: str) -> list[Event]: ...

    async def load_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Event]]: ...

    async def stream_version(self, stream_id: str) -> int: ...

    async def schedule(
        self,
        timer_id: str,
        *,
        kind: str,
        stream_id: str,
        due_at: datetime,
        payload: dict[str, Any],
        correlation_id: str,
    ) -> bool: ...

    async def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        *,
        expected_version: int | None = None,
        correlation_id: str,
        causation_id: str,
        region: str | None = None,
    ) -> list[Envelope]: ...


async def schedule_timers(uow: CommandUnit, dues: Iterable[Due]) -> None:
    """Schedule the durable timers a decision asked for, in the command's unit of work
    and under its conversation's correlation id."""
    correlation_id = current_context().correlation_id
    for due in dues:
        await uow.schedule(
            due.timer_id,
            kind=due.kind,
            stream_id=due.stream_id,
            due_at=due.due_at,
            payload=due.payload,
            correlation_id=correlation_id,
        )


@dataclass(frozen=True)
class CommandResult:
    """What every command answers: the stream, the events recorded, and the conversation."""

    stream_id: str
    events: tuple[str, ...]
    event_ids: tuple[str, ...]
    correlation_id: str
    version: int
    data: dict[str, Any] = field(default_factory=dict)
    refused: Refused | None = None
    """A refusal whose events were recorded; `execute` raises it once they are committed."""

    def answer(self, id_field: str = "ticket_id") -> dict[str, Any]:
        """The JSON answer: the stream id under `id_field`, events, ids, version, data."""
        return {
            id_field: self.stream_id,
            "events": list(self.events),
            "event_ids": list(self.event_ids),
            "correlation_id": self.correlation_id,
            "version": self.version,
            **self.data,
        }


Decide = Callable[[S, U], "Sequence[Event] | Awaitable[Sequence[Event]]"]


@dataclass(frozen=True)
class Stream(Generic[S]):
    """How one kind of stream is folded: `fold(stream_id, events) -> state`.

    Which pack a command on an existing stream decides with: the bound one (the pack of
    the event reacted to, or the caller's ticket), else the one the stream's first event
    names. A stream that is one ticket's own (`own_pack`) always decides with its own
    pack once it exists, so that a command on it nested in another ticket's (DSP-10's
    release of an interrupted visit) does not take the other ticket's pack; a shared
    stream (an outlet's account fined for a ticket) takes the bound one."""

    name: str
    fold: Callable[[str, Sequence[Event]], S]
    region_of: Callable[[S], str | None] = lambda _: None
    own_pack: bool = False


async def run(
    uow: U,
    stream: Stream[S],
    stream_id: str,
    decide: Decide[S, U],
    *,
    create: bool = False,
    region: str | None = None,
    data: Callable[[S, Sequence[Event]], dict[str, Any]] | None = None,
) -> CommandResult:
    """Load and fold `stream_id`, decide, append at the loaded version, inside `uow`.

    `create=True` requires an empty stream and does not load it: the append at version 0
    fails with a ConcurrencyError when the stream exists (its first event holds version
    1). Otherwise an empty stream is a NotFound. A `Refused` carrying events appends them
    and comes back on the result (`refused`), so the unit commits what the caller is told;
    `execute` then raises it.
    """
    history = [] if create else await uow.load_stream(stream_id)
    if not create and not history:
        raise NotFound(f"no {stream.name} {stream_id}")
    own = stream_policy(uow, stream_id) if history else None
    policy = (own or current_policy()) if stream.own_pack else (current_policy() or own)
    with deciding_with(policy):
        return await _decide_and_append(uow, stream, stream_id, decide, history, region, data)


def stream_policy(uow: Any, stream_id: str) -> Policy | None:
    """The pack and version the first event of a stream loaded in `uow` names."""
    policy_for = getattr(uow, "stream_policy", None)
    return policy_for(stream_id) if policy_for else None


async def _decide_and_append(
    uow: U,
    stream: Stream[S],
    stream_id: str,
    decide: Decide[S, U],
    history: list[Event],
    region: str | None,
    data: Callable[[S, Sequence[Event]], dict[str, Any]] | None,
) -> CommandResult:
    ctx = current_context()
    state = stream.fold(stream_id, history)
    region = region or stream.region_of(state)
    try:
        decided = decide(state, uow)
        if inspect.isawaitable(decided):
            decided = await decided
    except Refused as refusal:
        if not refusal.events:
            raise
        envelopes = await uow.append(
            stream_id,
            refusal.events,
            expected_version=len(history),
            correlation_id=ctx.correlation_id,
            causation_id=ctx.causation_id,
            region=region,
        )
        refusal.details.setdefault("event_id", envelopes[0].id)
        return CommandResult(
            stream_id=stream_id,
            events=tuple(type(e).__name__ for e in refusal.events),
            event_ids=tuple(env.id for env in envelopes),
            correlation_id=ctx.correlation_id,
            version=len(history) + len(refusal.events),
            refused=refusal,
        )
    events = list(decided)  # type: ignore[arg-type]
    envelopes = await uow.append(
        stream_id,
        events,
        expected_version=len(history),
        correlation_id=ctx.correlation_id,
        causation_id=ctx.causation_id,
        region=region,
    )
    return CommandResult(
        stream_id=stream_id,
        events=tuple(type(e).__name__ for e in events),
        event_ids=tuple(env.id for env in envelopes),
        correlation_id=ctx.correlation_id,
        version=len(history) + len(events),
        data=data(state, events) if data else {},
    )


async def execute(
    unit_of_work: Callable[[], AbstractAsyncContextManager[U]],
    stream: Stream[S],
    stream_id: str,
    decide: Decide[S, U],
    **options: Any,
) -> CommandResult:
    """`run` in a unit of work of its own, tried afresh when another writer came first."""

    async def attempt() -> CommandResult:
        async with unit_of_work() as uow:
            return await run(uow, stream, stream_id, decide, **options)

    result = await retry_on_concurrency(attempt)
    if result.refused is not None:
        raise result.refused
    return result


async def in_unit(
    unit_of_work: Callable[[], AbstractAsyncContextManager[U]],
    work: Callable[[U], Awaitable[Any]],
) -> Any:
    """Run `work` (several `run`s, a multi-stream command) in one unit, with the retry."""

    async def attempt() -> Any:
        async with unit_of_work() as uow:
            return await work(uow)

    return await retry_on_concurrency(attempt)


__all__ = [
    "CommandContext",
    "CommandResult",
    "CommandUnit",
    "Stream",
    "bound",
    "current_context",
    "execute",
    "in_unit",
    "reacting_to",
    "run",
]
