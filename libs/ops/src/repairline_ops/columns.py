"""Typed columns of an exported event type, derived from its model in `contracts/`.

Every row holds the CloudEvents attributes and extensions (`ce_*`), where the record sat
in Kafka (`kafka_*`) and the event's data fields as columns of their own: money as
int64 fen, times as UTC timestamps (microseconds), dates as dates, nested models as
structs and tuples as lists. Personal fields (`repairline_contracts.personal`) are
read as they are on the wire and written as strings holding a keyed hash, unless the
export includes personal data.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel

from repairline_contracts.base import Event
from repairline_contracts.personal import is_personal

UTC_TIME = pa.timestamp("us", tz="UTC")

# CloudEvents attributes and repairline's extensions, as read from the envelope
ENVELOPE: tuple[tuple[str, pa.DataType], ...] = (
    ("specversion", pa.string()),
    ("id", pa.string()),
    ("source", pa.string()),
    ("type", pa.string()),
    ("time", UTC_TIME),
    ("subject", pa.string()),
    ("datacontenttype", pa.string()),
    ("schemaversion", pa.int64()),
    ("region", pa.string()),
    ("policypack", pa.string()),
    ("policyversion", pa.string()),
    ("correlationid", pa.string()),
    ("causationid", pa.string()),
    ("streamversion", pa.int64()),
)
KAFKA: tuple[tuple[str, pa.DataType], ...] = (
    ("kafka_topic", pa.string()),
    ("kafka_partition", pa.int32()),
    ("kafka_offset", pa.int64()),
)

PersonalPath = tuple[str, ...]  # field names from the data root; "*" steps into a list


@dataclass(frozen=True)
class EventColumns:
    """How one event type is read from JSON and written to Parquet."""

    event_type: str
    read_schema: pa.Schema  # the envelope as JSON: dates still text
    schema: pa.Schema  # the Parquet file's columns
    required: tuple[str, ...]  # data fields that can never be null
    personal: tuple[PersonalPath, ...]

    @property
    def dataset(self) -> str:
        """Folder and view name: `intake_repair_requested`."""
        return dataset_name(self.event_type)


def dataset_name(event_type: str) -> str:
    _, context, name = event_type.split(".", 2)
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return f"{context}_{snake}"


def columns_for(cls: type[Event], *, hashed: bool) -> EventColumns:
    read_fields, final_fields, required = [], [], []
    for name, info in cls.model_fields.items():
        read_t, final_t = _types(info.annotation, hashed)
        if hashed and is_personal(cls, name):
            final_t = pa.string()
        read_fields.append(pa.field(name, read_t))
        final_fields.append(pa.field(name, final_t))
        if info.is_required() and not _optional(info.annotation):
            required.append(name)
    read_schema = pa.schema(
        [*(pa.field(n, t) for n, t in ENVELOPE), pa.field("data", pa.struct(read_fields))]
    )
    schema = pa.schema(
        [
            *(pa.field(f"ce_{n}", t) for n, t in ENVELOPE),
            *(pa.field(n, t) for n, t in KAFKA),
            *final_fields,
        ]
    )
    personal = tuple(_personal_paths(cls, ())) if hashed else ()
    return EventColumns(cls.event_type, read_schema, schema, tuple(required), personal)


def _optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unions other than X | None have no column type: {annotation}")
        return args[0]
    return annotation


def _types(annotation: Any, hashed: bool) -> tuple[pa.DataType, pa.DataType]:
    """(type read from JSON, type written) for one annotation."""
    ann = _strip_optional(annotation)
    origin = get_origin(ann)
    if origin is Literal:
        return pa.string(), pa.string()
    if origin in (tuple, list):
        read_t, final_t = _types(get_args(ann)[0], hashed)
        return pa.list_(read_t), pa.list_(final_t)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        pairs = [
            (name, _personal(_types(info.annotation, hashed), hashed and is_personal(ann, name)))
            for name, info in ann.model_fields.items()
        ]
        return (
            pa.struct([pa.field(n, r) for n, (r, _) in pairs]),
            pa.struct([pa.field(n, f) for n, (_, f) in pairs]),
        )
    return _scalar(ann)


def _personal(
    types_: tuple[pa.DataType, pa.DataType], hashed: bool
) -> tuple[pa.DataType, pa.DataType]:
    """A hashed personal field is read as it is on the wire and written as its hash."""
    return (types_[0], pa.string()) if hashed else types_


def _scalar(ann: Any) -> tuple[pa.DataType, pa.DataType]:
    if ann is bool:
        return pa.bool_(), pa.bool_()
    if isinstance(ann, type) and issubclass(ann, Enum | str):
        return pa.string(), pa.string()
    if ann is int:
        return pa.int64(), pa.int64()
    if ann is float:
        return pa.float64(), pa.float64()
    if ann is datetime:
        return UTC_TIME, UTC_TIME
    if ann is date:
        return pa.string(), pa.date32()
    raise TypeError(f"no column type for {ann!r}")


def _personal_paths(model: type[BaseModel], at: PersonalPath) -> list[PersonalPath]:
    paths: list[PersonalPath] = []
    for name, info in model.model_fields.items():
        if is_personal(model, name):
            paths.append((*at, name))
            continue
        ann = _strip_optional(info.annotation)
        step: PersonalPath = (name,)
        if get_origin(ann) in (tuple, list):
            ann, step = _strip_optional(get_args(ann)[0]), (name, "*")
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            paths += _personal_paths(ann, (*at, *step))
    return paths
