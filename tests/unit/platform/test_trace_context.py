"""The command path puts the current trace on the events it appends, and a reaction
continues the trace of the event it reacts to under a span of its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import structlog

from repairline_contracts.envelope import Envelope
from repairline_platform import commands, tracing
from repairline_platform.clock import FixedClock
from repairline_platform.testing import InMemoryEventStore
from tests.support.factories import repair_requested
from tests.support.infra import envelope_bytes

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def store() -> InMemoryEventStore:
    return InMemoryEventStore(FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))


async def append_one(s: InMemoryEventStore) -> Envelope:
    event = repair_requested()
    async with s.unit_of_work() as uow:
        (envelope,) = await uow.append(
            event.ticket_id, [event], correlation_id="c", causation_id="test"
        )
    return envelope


async def test_an_event_appended_inside_a_request_span_carries_its_traceparent() -> None:
    t = tracing.configure("intake", {})
    with t.server_span("POST", "/tickets", {"traceparent": CALLER}):
        inside = tracing.current_traceparent()
        envelope = await append_one(store())
    assert envelope.traceparent == inside
    assert tracing.trace_ids(envelope.traceparent)["trace_id"] == CALLER_TRACE
    assert json.loads(envelope.to_bytes())["traceparent"] == inside


async def test_outside_any_span_the_envelope_has_no_traceparent_attribute_at_all() -> None:
    envelope = await append_one(store())
    assert envelope.traceparent is None
    assert "traceparent" not in json.loads(envelope.to_bytes())


def test_an_envelope_without_traceparent_is_still_read() -> None:
    body = json.loads(envelope_bytes(repair_requested()))
    body.pop("traceparent", None)
    assert Envelope.from_bytes(json.dumps(body).encode()).traceparent is None


async def test_a_reaction_appends_in_the_callers_trace_under_a_new_span_and_logs_with_it() -> None:
    caused_by = Envelope.from_bytes(envelope_bytes(repair_requested()))
    caused_by = caused_by.model_copy(update={"traceparent": CALLER})
    with tracing.handling(tracing.configure("dispatch", {})), commands.reacting_to(caused_by):
        bound = structlog.contextvars.get_contextvars()
        reaction = await append_one(store())
    ids = tracing.trace_ids(reaction.traceparent)
    assert ids["trace_id"] == CALLER_TRACE
    assert ids["span_id"] != "00f067aa0ba902b7"  # a span of the reaction's own
    assert bound["trace_id"] == CALLER_TRACE and bound["span_id"] == ids["span_id"]
    assert "trace_id" not in structlog.contextvars.get_contextvars()


async def test_a_reaction_to_an_event_without_a_trace_starts_one() -> None:
    caused_by = Envelope.from_bytes(envelope_bytes(repair_requested()))
    with commands.reacting_to(caused_by):
        reaction = await append_one(store())
    assert tracing.trace_ids(reaction.traceparent)["trace_id"] != CALLER_TRACE


def test_a_batch_from_one_span_is_handled_in_its_trace_and_a_mixed_one_is_not() -> None:
    one = Envelope.from_bytes(envelope_bytes(repair_requested()))
    traced = [one.model_copy(update={"traceparent": CALLER})] * 2
    other = one.model_copy(update={"traceparent": f"00-{'1' * 32}-{'2' * 16}-01"})
    t = tracing.configure("billing", {})
    with tracing.handling(t, "billing.tickets", traced):
        inside = structlog.contextvars.get_contextvars()
    with tracing.handling(t, "billing.tickets", [*traced, other]):
        mixed = structlog.contextvars.get_contextvars()
    with tracing.handling(t, "billing.tickets", [one]):
        untraced = structlog.contextvars.get_contextvars()
    assert inside["trace_id"] == CALLER_TRACE and inside["span_id"] != "00f067aa0ba902b7"
    assert "trace_id" not in mixed and "trace_id" not in untraced
