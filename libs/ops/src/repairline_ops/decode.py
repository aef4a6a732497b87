"""Kafka records to one Arrow table per event type.

The common case is vectorised: records of a current schema version without personal
fields go, as they are, through Arrow's JSON reader with the type's explicit schema.
Older versions (upcast), events with personal fields (hashed), and any group the reader
refuses go through the contracts' models one by one first; what even they cannot read
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


class Decoder:
    def __init__(self, hasher: Hasher | None) -> None:
        self.hasher = hasher
        self.columns: dict[str, EventColumns] = {
            t: columns_for(cls, hashed=hasher is not None) for t, cls in CURRENT.items()
        }

    def decode(self, records: Iterable[Record]) -> Decoded:
        out = Decoded()
        groups: dict[str, list[tuple[Record, bytes]]] = defaultdict(list)
        for record in records:
            line = self._fast_line(record) or self._normalised(record, out)
            if line is not None:
                groups[_type_of(line)].append((record, line))
        for event_type, items in groups.items():
            table = self._table(self.columns[event_type], items, out)
            if table is not None and table.num_rows:
                out.tables[self.columns[event_type].dataset] = table
        return out

    def _fast_line(self, record: Record) -> bytes | None:
        """The record's bytes when Arrow can read them as they are."""
        value = record.value
        if not value or b"\n" in value:
            return None
        found, version = _TYPE.search(value), _VERSION.search(value)
        cols = self.columns.get(found.group(1).decode()) if found else None
        if cols is None or cols.personal or version is None:
            return None
        if int(version.group(1)) != CURRENT[cols.event_type].schema_version:
            return None
        return value

    def _normalised(self, record: Record, out: Decoded) -> bytes | None:
        """Through the models: upcast, defaults filled, personal fields hashed."""
        try:
            envelope = Envelope.from_bytes(record.value)
            data = envelope.event().model_dump(mode="json")
        except (MalformedMessageError, UnknownEventError) as exc:
            out.unreadable.append(_unreadable(record, str(exc)))
            return None
        except ValidationError as exc:
            reason = f"event data does not match its schema: {exc.error_count()} errors"
            out.unreadable.append(_unreadable(record, reason))
            return None
        cols = self.columns[envelope.type]
        if self.hasher is not None:
            self.hasher.scrub(data, cols.personal)
        body: dict[str, Any] = envelope.model_dump(mode="json")
        body["data"] = data
        body["schemaversion"] = CURRENT[envelope.type].schema_version
        return json.dumps(body, ensure_ascii=False).encode()

    def _table(
        self, cols: EventColumns, items: list[tuple[Record, bytes]], out: Decoded
    ) -> pa.Table | None:
        try:
            return _read(cols, items)
        except (pa.ArrowInvalid, ValueError):
            if all(line is not record.value for record, line in items):
                raise  # already normalised: a bug in the column derivation, not bad data
        # a record the reader refuses: send the group through the models
        again = []
        for record, line in items:
            if line is record.value:
                line = self._normalised(record, out)
            if line is not None:
                again.append((record, line))
        return _read(cols, again) if again else None


def _type_of(line: bytes) -> str:
    found = _TYPE.search(line)
    assert found is not None
    return found.group(1).decode()


def _unreadable(record: Record, error: str) -> Unreadable:
    return Unreadable(record.topic, record.partition, record.offset, error)


def _read(cols: EventColumns, items: Sequence[tuple[Record, bytes]]) -> pa.Table:
    raw = pj.read_json(
        io.BytesIO(b"\n".join(line for _, line in items)),
        read_options=pj.ReadOptions(block_size=1 << 24),
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
        pa.array([r.topic for r, _ in items], pa.string()),
        pa.array([r.partition for r, _ in items], pa.int32()),
        pa.array([r.offset for r, _ in items], pa.int64()),
    ]
    columns += [data.field(i) for i in range(data.type.num_fields)]
    return pa.Table.from_arrays(columns, names=cols.schema.names).cast(cols.schema)


def months(table: pa.Table) -> dict[str, pa.Table]:
    """The rows of each calendar month (UTC) of their event time: `2026-11` -> rows."""
    labels = pc.strftime(table.column("ce_time"), format="%Y-%m")
    return {
        month: table.filter(pc.equal(labels, month)) for month in sorted(set(labels.to_pylist()))
    }
