"""What a replay decides from a record's bytes before parsing it, against what the live
inbox decides after parsing it with the models."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from repairline_contracts.intake import RepairRequested
from repairline_contracts.registry import CURRENT
from repairline_platform.consumer import InboxConsumer, Record
from repairline_platform.replaying import ReplayInbox, peek_type
from tests.support.factories import repair_requested
from tests.support.system import envelope_bytes

TYPES = sorted(CURRENT)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
kinds = st.sampled_from(TYPES) | st.text(max_size=30) | st.integers() | st.none()


@st.composite
def records(draw: Any) -> bytes:
    """Envelopes whole, or with attributes and data changed, dropped, or not JSON at all."""
    base = json.loads(envelope_bytes(repair_requested()))
    shape = draw(st.sampled_from(["envelope", "other", "bytes"]))
    if shape == "bytes":
        return draw(st.binary(max_size=60))
    if shape == "other":
        return json.dumps(draw(values)).encode()
    changed = dict(base)
    for name in draw(st.lists(st.sampled_from(sorted(base)), max_size=3)):
        changed.pop(name, None)
    changed |= draw(st.dictionaries(st.sampled_from([*sorted(base), "x"]), values, max_size=2))
    if draw(st.booleans()):
        changed["type"] = draw(kinds)
    return json.dumps(changed).encode()


def decoded(value: bytes) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return None


class Reads:
    name = "reads"
    topics = ("t",)
    event_types = frozenset({RepairRequested.event_type})

    async def handle(self, uow: Any, items: Any) -> None:
        raise AssertionError("not applied here")


def unused() -> Any:
    raise AssertionError("no database here")


@settings(max_examples=400, deadline=None)
@given(records())
def test_the_type_peeked_from_the_bytes_is_the_type_the_json_holds(value: bytes):
    whole = decoded(value)
    kind = whole.get("type") if isinstance(whole, dict) else None
    assert peek_type(value) == (kind if isinstance(kind, str) else None)


@settings(max_examples=400, deadline=None)
@given(records())
def test_a_replay_skips_unparsed_only_what_the_live_inbox_would_not_apply_or_hold(value: bytes):
    """The live inbox's verdict on every record, next to the replay's: applied and held
    records are the same; a record the replay skips unparsed is one the live inbox does
    not apply or hold (it ignores it, or dead-letters it when it first reads it)."""
    record = Record("t", 0, 0, b"k", value)
    live = InboxConsumer(Reads(), consumer_name="live", unit_of_work=unused)._read(record)
    replay = ReplayInbox(Reads(), consumer_name="replay", unit_of_work=unused)._read(record)
    skipped = replay.item is None and replay.held is None and replay.error is None
    assert (replay.item is None) == (live.item is None)
    if replay.item is not None and live.item is not None:
        assert replay.item.event == live.item.event
        assert replay.item.envelope == live.item.envelope
    assert (replay.held is None) == (live.held is None)
    if skipped:
        assert live.item is None and live.held is None
        assert peek_type(value) in CURRENT or live.error is None
    else:
        assert replay.error == live.error
