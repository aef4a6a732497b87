"""Kafka records to one Arrow table per event type.

The common case is vectorised: records of a current schema version go, as they are,
through Arrow's JSON reader with the type's explicit schema, and personal fields are
hashed column by column. Older versions (upcast) and any group the reader refuses go
through the contracts' models one by one first; what even they cannot read
is reported as unreadable with its position and the reason, never its content.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from pydantic import ValidationError

from repairline_contracts.envelope import Envelope, MalformedMessageError
from repairline_contracts.registry import CURRENT, UnknownEventError
from repairline_ops.columns import EventColumns, columns_for
from repairline_ops.personal import Hasher

_TYPE = re.compile(rb'"type"\s*:\s*"([^"\\]+)"')
_VERSION = re.compile(rb'"schemaversion"\s*:\s*(\d+)')


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
    """The records of one event type, column by column, as the JSON reader takes them."""

    __slots__ = ("as_is", "lines", "offsets", "partitions", "topics")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.topics: list[str] = []
        self.partitions: list[int] = []
        self.offsets: list[int] = []
        self.as_is: list[bool] = []  # the line is the record's own bytes (not normalised)

    def add(self, topic: str, partition: int, offset: int, line: bytes, as_is: bool) -> None:
        self.lines.append(line)
        self.topics.append(topic)
        self.partitions.append(partition)
        self.offsets.append(offset)
        self.as_is.append(as_is)


class Decoder:
    def __init__(self, hasher: Hasher | None) -> None:
        self.hasher = hasher
        self.columns: dict[str, EventColumns] = {
            t: columns_for(cls, hashed=hasher is not None) for t, cls in CURRENT.items()
        }
        self._versions = {t: cls.schema_version for t, cls in CURRENT.items()}

    def decode(self, records: Iterable[Record]) -> Decoded:
        return self.decode_batches((r.topic, r.partition, [r.offset], [r.value]) for r in records)

    def decode_batches(
        self, batches: Iterable[tuple[str, int, Sequence[int], Sequence[bytes | None]]]
    ) -> Decoded:
        """Records given as consecutive runs of one partition: (topic, partition, offsets,
        values)."""
        out = Decoded()
        groups: dict[str, _Group] = defaultdict(_Group)
        for topic, partition, offsets, values in batches:
            for offset, value in zip(offsets, values, strict=True):
                event_type = self._readable_as_is(value)
                if event_type:
                    groups[event_type].add(topic, partition, offset, value, True)  # type: ignore[arg-type]
                    continue
                line = self._normalised(topic, partition, offset, value, out)
                if line is not None:
                    groups[_type_of(line)].add(topic, partition, offset, line, False)
        for event_type, group in groups.items():
            table = self._table(self.columns[event_type], group, out)
            if table is not None and table.num_rows:
                out.tables[self.columns[event_type].dataset] = table
        return out

    def _readable_as_is(self, value: bytes | None) -> str | None:
        """The event type when Arrow can read the record's bytes as they are."""
        if not value or b"\n" in value:
            return None
        event_type = _type_of(value)
        if self._versions.get(event_type) != _version_of(value):
            return None
        return event_type

    def _normalised(
        self, topic: str, partition: int, offset: int, value: bytes | None, out: Decoded
    ) -> bytes | None:
        """Through the models: upcast to the current version, defaults filled in."""
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
        body: dict[str, Any] = envelope.model_dump(mode="json")
        body["data"] = data
        body["schemaversion"] = CURRENT[envelope.type].schema_version
        return json.dumps(body, ensure_ascii=False).encode()

    def _table(self, cols: EventColumns, group: _Group, out: Decoded) -> pa.Table | None:
        try:
            return self._typed(cols, _read(cols, group))
        except (pa.ArrowInvalid, ValueError):
            if not any(group.as_is):
                raise  # already normalised: a bug in the column derivation, not bad data
        # a record the reader refuses: send the group through the models
        again = _Group()
        for topic, partition, offset, line, as_is in zip(
            group.topics, group.partitions, group.offsets, group.lines, group.as_is, strict=True
        ):
            if as_is:
                line = self._normalised(topic, partition, offset, line, out)
            if line is not None:
                again.add(topic, partition, offset, line, False)
        return self._typed(cols, _read(cols, again)) if again.lines else None

    def _typed(self, cols: EventColumns, table: pa.Table) -> pa.Table:
        if self.hasher is not None and cols.personal:
            table = self.hasher.hash_columns(table, cols.personal)
        return table.cast(cols.schema)


def _type_of(value: bytes) -> str:
    """The CloudEvents `type`; found without parsing the whole message."""
    at = value.find(b'"type":"')
    if at >= 0:
        return value[at + 8 : value.find(b'"', at + 8)].decode()
    found = _TYPE.search(value)
    return found.group(1).decode() if found else ""


def _version_of(value: bytes) -> int | None:
    at = value.find(b'"schemaversion":')
    end = value.find(b",", at + 16) if at >= 0 else -1
    if end > 0 and value[at + 16 : end].isdigit():
        return int(value[at + 16 : end])
    found = _VERSION.search(value)
    return int(found.group(1)) if found else None


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
    """The rows of each calendar month (UTC) of their event time: `2026-11` -> rows."""
    time = table.column("ce_time")
    keys = pc.add(pc.multiply(pc.year(time), 100), pc.month(time))
    found = sorted(pc.unique(keys).to_pylist())
    if len(found) == 1:  # the usual case: the log is in time order
        return {f"{found[0] // 100:04d}-{found[0] % 100:02d}": table}
    return {f"{key // 100:04d}-{key % 100:02d}": table.filter(pc.equal(keys, key)) for key in found}
