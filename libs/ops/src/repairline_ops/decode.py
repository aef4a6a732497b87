"""Kafka records to one Arrow table per event type.

The common case is the fast path (`fast`): each record is decoded from its bytes by a
mirror of its model that checks what the model checks, and its values go into typed
columns directly; personal fields are then hashed column by column. Whatever the
mirror refuses (an older schema version to upcast, a value only the models' lax
conversion accepts, or a record that is wrong) goes through the contracts' models one
by one; what even they cannot read is reported as unreadable with its position and the
reason, never its content.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from pydantic import ValidationError

from repairline_contracts.envelope import Envelope, MalformedMessageError
from repairline_contracts.registry import CURRENT, UnknownEventError
from repairline_ops.columns import ENVELOPE, EventColumns, columns_for
from repairline_ops.fast import Columns, Mirrors
from repairline_ops.personal import Hasher

_ATTRIBUTE_NAMES = frozenset(name for name, _ in ENVELOPE)


class Record(Protocol):
    topic: str
    partition: int
    offset: int
    value: bytes | None


@dataclass(frozen=True)
class Unreadable:
    topic: str
    partition: int
    offset: int
    error: str


@dataclass
class Decoded:
    tables: dict[str, pa.Table] = field(default_factory=dict)  # dataset -> rows
    unreadable: list[Unreadable] = field(default_factory=list)


class _Group:
    """Records of one event type normalised by the models, as lines for the JSON reader."""

    __slots__ = ("lines", "offsets", "partitions", "topics")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.topics: list[str] = []
        self.partitions: list[int] = []
        self.offsets: list[int] = []

    def add(self, topic: str, partition: int, offset: int, line: bytes) -> None:
        self.lines.append(line)
        self.topics.append(topic)
        self.partitions.append(partition)
        self.offsets.append(offset)


class _Fast:
    """Records of one event type the fast path decoded: their envelopes and places."""

    __slots__ = ("envelopes", "offsets", "partitions", "topics")

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.topics: list[str] = []
        self.partitions: list[int] = []
        self.offsets: list[int] = []


class Decoder:
    """`fast=False` sends every record through the models (the reference the fast path
    is checked against)."""

    def __init__(self, hasher: Hasher | None, *, fast: bool = True) -> None:
        self.hasher = hasher
        self.fast = fast
        self.columns: dict[str, EventColumns] = {
            t: columns_for(cls, hashed=hasher is not None) for t, cls in CURRENT.items()
        }
        self.mirrors = Mirrors(list(CURRENT.values()))
        self._fast_columns = {t: Columns(cls) for t, cls in CURRENT.items()}

    def decode(self, records: Iterable[Record]) -> Decoded:
        return self.decode_batches((r.topic, r.partition, [r.offset], [r.value]) for r in records)

    def decode_batches(
        self, batches: Iterable[tuple[str, int, Sequence[int], Sequence[bytes | None]]]
    ) -> Decoded:
        """Records given as consecutive runs of one partition: (topic, partition, offsets,
        values)."""
        out = Decoded()
        fast: dict[type, _Fast] = defaultdict(_Fast)
        slow: dict[str, _Group] = defaultdict(_Group)
        for topic, partition, offsets, values in batches:
            envelopes = self._decode_all(values) if self.fast else None
            if envelopes is not None:
                _group(fast, topic, partition, offsets, envelopes)
                continue
            for offset, value in zip(offsets, values, strict=True):
                envelope = self._decode_one(value)
                if envelope is not None:
                    _group(fast, topic, partition, [offset], [envelope])
                    continue
                normalised = self._normalised(topic, partition, offset, value, out)
                if normalised is not None:
                    slow[normalised[0]].add(topic, partition, offset, normalised[1])
        by_type = {self.mirrors.event_type[t]: g for t, g in fast.items()}
        for event_type in sorted(by_type.keys() | slow.keys()):
            cols = self.columns[event_type]
            parts = []
            if event_type in by_type:
                group = by_type[event_type]
                places = (group.topics, group.partitions, group.offsets)
                parts.append(self._fast_columns[event_type].table(cols, group.envelopes, places))
            if event_type in slow:
                parts.append(_read(cols, slow[event_type]))
            table = self._typed(cols, parts[0] if len(parts) == 1 else _concat(parts))
            out.tables[cols.dataset] = table
        return out

    def _decode_all(self, values: Sequence[bytes | None]) -> list[Any] | None:
        """Every value's envelope in one call, as lines of one buffer; None when any of
        them must be judged alone (a value refused, absent, or spanning lines)."""
        if not values or None in values:
            return None
        lines = b"\n".join(values)  # type: ignore[arg-type]
        if lines.count(b"\n") != len(values) - 1:
            return None
        try:
            envelopes = self.mirrors.decoder.decode_lines(lines)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        return envelopes if len(envelopes) == len(values) else None

    def _decode_one(self, value: bytes | None) -> Any:
        if not self.fast or value is None:
            return None
        try:
            return self.mirrors.decoder.decode(value)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None

    def _normalised(
        self, topic: str, partition: int, offset: int, value: bytes | None, out: Decoded
    ) -> tuple[str, bytes] | None:
        """Through the models: upcast to the current version, defaults filled in; the
        attributes that are columns, as one JSON line."""
        try:
            envelope = Envelope.from_bytes(value)
            data = envelope.event().model_dump(mode="json")
        except (MalformedMessageError, UnknownEventError) as exc:
            out.unreadable.append(Unreadable(topic, partition, offset, str(exc)))
            return None
        except ValidationError as exc:
            reason = f"event data does not match its schema: {exc.error_count()} errors"
            out.unreadable.append(Unreadable(topic, partition, offset, reason))
            return None
        body: dict[str, Any] = envelope.model_dump(mode="json", include=_ATTRIBUTE_NAMES)
        body["data"] = data
        body["schemaversion"] = CURRENT[envelope.type].schema_version
        return envelope.type, json.dumps(body, ensure_ascii=False).encode()

    def _typed(self, cols: EventColumns, table: pa.Table) -> pa.Table:
        if self.hasher is not None and cols.personal:
            table = self.hasher.hash_columns(table, cols.personal)
        return table.cast(cols.schema)


def _group(
    fast: dict[type, _Fast],
    topic: str,
    partition: int,
    offsets: Sequence[int],
    envelopes: list[Any],
) -> None:
    """Envelopes of one partition added to their types' groups, in order, without a
    Python step per record: sorted by type (a stable sort), then sliced."""
    kinds = list(map(type, envelopes))
    if len(set(kinds)) == 1:
        order: Sequence[int] = range(len(kinds))
    else:
        order = sorted(range(len(kinds)), key=list(map(id, kinds)).__getitem__)
    at = 0
    while at < len(order):
        kind = kinds[order[at]]
        count = _run_length(kinds, order, at, kind)
        rows = order[at : at + count]
        group = fast[kind]
        group.envelopes += map(envelopes.__getitem__, rows)
        group.offsets += map(offsets.__getitem__, rows)
        group.topics += [topic] * count
        group.partitions += [partition] * count
        at += count


def _run_length(kinds: list[type], order: Sequence[int], at: int, kind: type) -> int:
    """How many of `order` from `at` on are of `kind` (they are consecutive)."""
    low, high = at + 1, len(order)
    while low < high:  # the first position of another kind, by bisection
        mid = (low + high) // 2
        if kinds[order[mid]] is kind:
            low = mid + 1
        else:
            high = mid
    return low - at


def _concat(parts: list[pa.Table]) -> pa.Table:
    """The fast path's rows and the models' rows of one type (dates typed alike)."""
    schema = parts[0].schema
    return pa.concat_tables([parts[0], *(p.cast(schema) for p in parts[1:])])


def _read(cols: EventColumns, group: _Group) -> pa.Table:
    raw = pj.read_json(
        io.BytesIO(b"\n".join(group.lines)),
        # one thread: the export runs a worker process per CPU already
        read_options=pj.ReadOptions(block_size=1 << 24, use_threads=False),
        parse_options=pj.ParseOptions(
            explicit_schema=cols.read_schema, unexpected_field_behavior="error"
        ),
    )
    data = raw.column("data").combine_chunks()
    if data.null_count:
        raise ValueError("an envelope without data")
    for name in cols.required:
        if data.field(name).null_count:
            raise ValueError(f"{name} is missing")
    columns = [raw.column(f.name) for f in cols.read_schema if f.name != "data"]
    columns += [
        pa.array(group.topics, pa.string()),
        pa.array(group.partitions, pa.int32()),
        pa.array(group.offsets, pa.int64()),
    ]
    columns += [data.field(i) for i in range(data.type.num_fields)]
    return pa.Table.from_arrays(columns, names=cols.schema.names)


def months(table: pa.Table) -> dict[str, pa.Table]:
    """The rows of each calendar month (UTC) of their event time: `2026-11` -> rows,
    in their order within the month."""
    time = table.column("ce_time")
    bounds = pc.min_max(time)
    first, last = bounds["min"].as_py(), bounds["max"].as_py()
    if first is None:  # no rows
        return {}
    if (first.year, first.month) == (last.year, last.month):
        # the usual case, one month (the log is in time order): told by the earliest and
        # latest time alone, without the month of every row
        return {f"{first.year:04d}-{first.month:02d}": table}
    keys = pc.add(pc.multiply(pc.year(time), 100), pc.month(time))
    counts = pc.value_counts(keys)
    # one stable sort by month, then each month a slice: one copy of the rows, not one
    # filtered copy per month
    in_order = table.take(pc.sort_indices(keys))
    keys_found, rows = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
    found = sorted(zip(keys_found, rows, strict=True))
    parts, at = {}, 0
    for key, n in found:
        parts[f"{key // 100:04d}-{key % 100:02d}"] = in_order.slice(at, n)
        at += n
    return parts
