"""The one command path, run on the in-memory unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from repairline_contracts.base import Event
from repairline_contracts.intake import TicketClosed
from repairline_platform import commands
from repairline_platform.clock import FixedClock
from repairline_platform.eventstore import ConcurrencyError
from repairline_platform.testing import InMemoryEventStore
from repairline_rules.refusals import IllegalTransition, NotFound, Refused

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def closed(ticket_id: str) -> TicketClosed:
    return TicketClosed(ticket_id=ticket_id, reason="returned", closed_at=START)


def count(stream_id: str, events: Sequence[Event]) -> int:
    return len(events)


COUNTER = commands.Stream("counter", count)


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore(FixedClock(START))


async def test_appends_at_the_loaded_version_with_the_bound_correlation_id(store):
    with commands.bound("corr-1", "http:corr-1"):
        first = await commands.execute(
            store.unit_of_work, COUNTER, "t1", lambda n, uow: [closed("t1")], create=True
        )
        second = await commands.execute(
            store.unit_of_work, COUNTER, "t1", lambda n, uow: [closed("t1")] * (n + 1)
        )
    assert (first.version, second.version) == (1, 3)
    assert second.correlation_id == "corr-1"
    assert {env.correlationid for env in store.envelopes()} == {"corr-1"}
    assert [env.streamversion for env in store.streams["t1"]] == [1, 2, 3]


async def test_a_missing_stream_is_not_found_and_an_existing_one_cannot_be_created(store):
    with pytest.raises(NotFound):
        await commands.execute(store.unit_of_work, COUNTER, "nope", lambda n, uow: [])
    await commands.execute(
        store.unit_of_work, COUNTER, "t1", lambda n, uow: [closed("t1")], create=True
    )
    with pytest.raises(ConcurrencyError):
        await commands.execute(
            store.unit_of_work, COUNTER, "t1", lambda n, uow: [closed("t1")], create=True
        )


async def test_retries_when_another_writer_appended_between_load_and_append(store):
    await commands.execute(
        store.unit_of_work, COUNTER, "t1", lambda n, uow: [closed("t1")], create=True
    )
    seen: list[int] = []

    async def decide(n: int, uow) -> list[Event]:
        seen.append(n)
        if len(seen) == 1:  # a concurrent writer gets in first, once
            async with store.unit_of_work() as other:
                await other.append("t1", [closed("t1")], correlation_id="x", causation_id="x")
        return [closed("t1")]

    result = await commands.execute(store.unit_of_work, COUNTER, "t1", decide)
    assert seen == [1, 2]
    assert result.version == 3


async def test_a_refusal_records_its_events_and_a_failed_decision_records_nothing(store):
    await commands.execute(
        store.unit_of_work, COUNTER, "t1", lambda n, uow: [closed("t1")], create=True
    )

    def refuse(n: int, uow) -> list[Event]:
        raise Refused("no", rule_id="INT-4", events=[closed("t1")])

    def illegal(n: int, uow) -> list[Event]:
        raise IllegalTransition("closed", "closed")

    with pytest.raises(Refused):
        await commands.execute(store.unit_of_work, COUNTER, "t1", refuse)
    assert len(store.streams["t1"]) == 2
    with pytest.raises(IllegalTransition):
        await commands.execute(store.unit_of_work, COUNTER, "t1", illegal)
    assert len(store.streams["t1"]) == 2


async def test_a_reaction_is_caused_by_the_event_it_reacts_to(store):
    await commands.execute(
        store.unit_of_work, COUNTER, "t1", lambda n, uow: [closed("t1")], create=True
    )
    [cause] = store.streams["t1"]
    with commands.reacting_to(cause):
        result = await commands.execute(
            store.unit_of_work, COUNTER, "t2", lambda n, uow: [closed("t2")], create=True
        )
    [effect] = store.streams["t2"]
    assert effect.causationid == cause.id
    assert effect.correlationid == cause.correlationid == result.correlation_id
