"""The export's fast path exports exactly what the contracts' models accept.

For every event type, generated events and mutated ones (a value outside its Literal or
Enum, below its bound, of the wrong type, null, missing, an unknown field, a date that
does not exist, ...) go through the export's decoder and through the models: a record
is exported when the models accept it, with the same row as the models give, and is
listed as unreadable when they refuse it. The fast path itself never accepts a record
the models refuse, and accepts every event as the models write it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from repairline_contracts.envelope import Envelope, MalformedMessageError, wrap
from repairline_contracts.registry import EVENT_TYPES, UnknownEventError
from repairline_ops.decode import Decoded, Decoder
from repairline_ops.personal import Hasher
from repairline_ops.sample import Sampler

KEY = b"unit-test-key-0123456789"
FAST = Decoder(Hasher(KEY))
MODELS = Decoder(Hasher(KEY), fast=False)
START = datetime(2026, 3, 1, tzinfo=UTC)
TYPES = sorted(EVENT_TYPES, key=lambda cls: cls.event_type)
CHECKS = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# what a mutation puts in place of a value (`DROP`: the key is removed)
DROP = object()
REPLACEMENTS: tuple[Any, ...] = (
    "carrier-pigeon",
    "",
    -1,
    0,
    -100_000,
    1.5,
    "12",
    True,
    None,
    [],
    {},
    ["carrier-pigeon"],
    "2026-02-30T10:00:00+08:00",
    "2026-13-01",
    "2026-04-01T09:30:00",
    "2026-04-01",
    "yesterday",
    DROP,
)


@dataclass(frozen=True)
class Rec:
    topic: str
    partition: int
    offset: int
    value: bytes | None


def _event(cls: type, seed: int) -> dict[str, Any]:
    sampler = Sampler(random.Random(seed), START)
    envelope = wrap(
        sampler.instance(cls),
        event_id=f"ev-{seed}",
        source="/test",
        time=sampler.time(),
        region="cn-east",
        policy_pack="water-heater",
        policy_version="2026.1",
        correlation_id=f"corr-{seed}",
        causation_id="test",
        stream_version=1 + seed % 7,
    )
    return json.loads(envelope.to_bytes())


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the message a mutation can touch (the message itself excluded)."""
    found = [at] if at else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*at, i))
    return found


def _mutated(message: dict[str, Any], path: tuple[Any, ...], replacement: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(message))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    if replacement is DROP:
        del holder[path[-1]]
    else:
        holder[path[-1]] = replacement
    return copy


def _models_accept(value: bytes) -> bool:
    try:
        Envelope.from_bytes(value).event()
    except (MalformedMessageError, UnknownEventError, ValidationError):
        return False
    return True


def _rows(decoded: Decoded) -> list[dict[str, Any]]:
    return [row for table in decoded.tables.values() for row in table.to_pylist()]


def _exported_alike(value: bytes) -> bool:
    """Exported by the export as the models export it, or unreadable to both; the
    verdict: exported."""
    fast, models = FAST.decode([Rec("t", 0, 7, value)]), MODELS.decode([Rec("t", 0, 7, value)])
    assert _rows(fast) == _rows(models)
    assert [u.offset for u in fast.unreadable] == [u.offset for u in models.unreadable]
    assert len(_rows(fast)) + len(fast.unreadable) == 1
    return bool(_rows(fast))


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.event_type.split(".", 1)[1])
@CHECKS
@given(seed=st.integers(0, 10**9))
def test_a_generated_event_takes_the_fast_path_with_the_models_row(cls: type, seed: int) -> None:
    value = json.dumps(_event(cls, seed)).encode()
    assert FAST.mirrors.decode(value) is not None
    assert _models_accept(value)
    assert _exported_alike(value)


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.event_type.split(".", 1)[1])
@CHECKS
@given(seed=st.integers(0, 10**9), data=st.data())
def test_a_mutated_event_is_exported_exactly_when_the_models_accept_it(
    cls: type, seed: int, data: st.DataObject
) -> None:
    message = _event(cls, seed)
    path = data.draw(st.sampled_from(_paths(message)), label="path")
    replacement = data.draw(st.sampled_from(REPLACEMENTS), label="replacement")
    if data.draw(st.booleans(), label="add an unknown field instead") and isinstance(
        message.get(path[0]), dict
    ):
        path, replacement = (*path[:1], "unexpected"), "carrier-pigeon"
    value = json.dumps(_mutated(message, path, replacement)).encode()
    accepted = _models_accept(value)
    if FAST.mirrors.decode(value) is not None:
        assert accepted, "the fast path accepted what the models refuse"
    assert _exported_alike(value) == accepted
    if accepted:  # the models' own spelling of it is the fast path's
        canonical = Envelope.from_bytes(value)
        event = canonical.event()  # upcast: a version-1 spelling reads as the current one
        current = {"data": event.model_dump(mode="json"), "schemaversion": event.schema_version}
        again = canonical.model_copy(update=current).to_bytes()
        assert FAST.mirrors.decode(again) is not None


@pytest.mark.parametrize("version", [1, True])  # pydantic reads true as 1
def test_an_older_schema_version_is_exported_as_the_models_upcast_it(version: Any) -> None:
    from repairline_contracts.billing import SettlementStatementIssued  # version 2

    message = {**_event(SettlementStatementIssued, 0), "schemaversion": version}
    value = json.dumps(message).encode()
    assert _models_accept(value)
    assert _exported_alike(value)
    canonical = Envelope.from_bytes(value)
    event = canonical.event()
    assert event.schema_version == 2
    current = {"data": event.model_dump(mode="json"), "schemaversion": event.schema_version}
    assert FAST.mirrors.decode(canonical.model_copy(update=current).to_bytes()) is not None


def test_a_repair_request_by_carrier_pigeon_is_unreadable_not_exported() -> None:
    from repairline_contracts.intake import RepairRequested

    message = _event(RepairRequested, 16)
    message["data"]["channel"] = "carrier-pigeon"
    decoded = FAST.decode([Rec("repairline.intake.events", 2, 41, json.dumps(message).encode())])
    assert not decoded.tables
    assert [(u.partition, u.offset) for u in decoded.unreadable] == [(2, 41)]
    assert "does not match its schema" in decoded.unreadable[0].error


def test_a_record_with_a_trace_context_and_an_unknown_attribute_is_exported() -> None:
    from repairline_contracts.intake import RepairRequested

    message = _event(RepairRequested, 17)
    message["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    message["partnerext"] = "kept by the models, not a column"
    value = json.dumps(message).encode()
    assert _exported_alike(value)
    (table,) = FAST.decode([Rec("t", 0, 1, value)]).tables.values()
    assert table.schema.field("ce_time").type == pa.timestamp("us", tz="UTC")
