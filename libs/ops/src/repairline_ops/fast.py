"""The export's fast path: records decoded from their bytes straight into typed columns.

For every event type a msgspec struct mirrors its model in `contracts/`, inside a
mirror of the envelope: the same field types, the values of every Literal and Enum,
bounds (`ge`, `gt`, `le`, `lt`), lengths, required fields and defaults, and unknown
fields refused where the model refuses them. The envelope's `type` selects the mirror
and its `schemaversion` must be the type's current one.

The mirror is strict where the models are lax (a number sent as text, an older schema
version): whatever it refuses goes through the models themselves (`decode`), which
upcast, convert, or declare the record unreadable. So a record is exported exactly when
the models accept it, and the fast path only decides how quickly.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from repairline_contracts.base import Event
from repairline_ops.columns import ENVELOPE, EventColumns, columns_for

_BOUNDS = {Ge: "ge", Gt: "gt", Le: "le", Lt: "lt", MinLen: "min_length", MaxLen: "max_length"}
_SCALARS = (str, int, float, bool, datetime, date)
_ENCODER = msgspec.json.Encoder()
_TEXT = msgspec.json.Decoder(list[str | None])

# the envelope's attributes before `data`, in the columns' order (`type` is the tag)
_ATTRIBUTES = tuple(name for name, _ in ENVELOPE if name != "type")


class Mirrors:
    """One decoder for the envelopes of every current event type."""

    def __init__(self, models: Sequence[type[Event]]) -> None:
        self._names: dict[str, int] = {}
        structs = [self._envelope(cls) for cls in models]
        self.decoder = msgspec.json.Decoder(Union[tuple(structs)])  # noqa: UP007
        self.event_type = {s: cls.event_type for s, cls in zip(structs, models, strict=True)}

    def decode(self, value: bytes) -> msgspec.Struct | None:
        """The record's envelope, or None when the models must judge it."""
        try:
            return self.decoder.decode(value)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None

    def _envelope(self, cls: type[Event]) -> type[msgspec.Struct]:
        attributes: list[tuple[Any, ...]] = [
            ("specversion", Literal["1.0"], "1.0"),
            ("id", str),
            ("source", str),
            ("time", datetime),
            ("subject", str),
            ("datacontenttype", Literal["application/json"], "application/json"),
            ("schemaversion", Literal[cls.schema_version]),
            ("region", str),
            ("policypack", str),
            ("policyversion", str),
            ("correlationid", str),
            ("causationid", str),
            ("streamversion", Annotated[int, msgspec.Meta(ge=1)]),
            ("traceparent", str | None, None),
            ("data", self._struct(cls)),
        ]
        assert tuple(a[0] for a in attributes[:-2]) == _ATTRIBUTES
        return msgspec.defstruct(
            self._name(f"Envelope{cls.__name__}"),
            attributes,
            kw_only=True,
            tag_field="type",
            tag=cls.event_type,
            gc=False,  # no cycles: the collector need not scan a flush's records
        )

    def _struct(self, model: type[BaseModel]) -> type[msgspec.Struct]:
        fields = [
            (name, _field_type(info, self), *_default(info))
            for name, info in model.model_fields.items()
        ]
        return msgspec.defstruct(
            self._name(model.__name__),
            fields,
            kw_only=True,
            forbid_unknown_fields=model.model_config.get("extra") == "forbid",
            gc=False,
        )

    def _name(self, base: str) -> str:
        n = self._names[base] = self._names.get(base, 0) + 1
        return base if n == 1 else f"{base}{n}"

    def mirror(self, annotation: Any) -> Any:
        """The msgspec type accepting what the annotation accepts in JSON, strictly."""
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                raise TypeError(f"unions other than X | None: {annotation}")
            return self.mirror(args[0]) | None
        if origin is Annotated:
            inner, *extra = get_args(annotation)
            return _bounded(self.mirror(inner), extra)
        if origin is Literal:
            return annotation
        if origin in (tuple, list):
            item, *rest = get_args(annotation)
            if origin is tuple and rest != [Ellipsis]:
                raise TypeError(f"fixed-length tuples: {annotation}")
            return list[self.mirror(item)]  # type: ignore[misc]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self._struct(annotation)
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            return Literal[tuple(member.value for member in annotation)]
        if annotation in _SCALARS:
            return annotation
        raise TypeError(f"no mirror for {annotation!r}")


def _field_type(info: FieldInfo, mirrors: Mirrors) -> Any:
    return _bounded(mirrors.mirror(info.annotation), info.metadata)


def _bounded(mirrored: Any, metadata: Sequence[Any]) -> Any:
    """The bounds of a field (`Field(ge=0)`, `min_length=1`) on its mirror."""
    bounds: dict[str, Any] = {}
    for item in metadata:
        key = _BOUNDS.get(type(item))
        if key is None:
            raise TypeError(f"a constraint the fast path does not check: {item!r}")
        bounds[key] = getattr(item, key)
    if not bounds:
        return mirrored
    if get_origin(mirrored) in (Union, types.UnionType):  # X | None: the bound is on X
        (inner,) = [a for a in get_args(mirrored) if a is not type(None)]
        return Annotated[inner, msgspec.Meta(**bounds)] | None
    return Annotated[mirrored, msgspec.Meta(**bounds)]


def _default(info: FieldInfo) -> tuple[Any, ...]:
    if info.is_required():
        return ()
    if info.default_factory is not None:
        raise TypeError("default factories are not mirrored")
    value = info.default
    if isinstance(value, Enum):
        return (value.value,)
    if isinstance(value, tuple):
        return (msgspec.field(default_factory=lambda v=value: list(v)),)
    return (value,)


class Columns:
    """A group of one event type's envelopes as the typed columns of its table."""

    def __init__(self, cls: type[Event]) -> None:
        plain = columns_for(cls, hashed=False).schema
        self.envelope_types = [f.type for f in plain][: len(ENVELOPE)]
        self.data_fields = [plain.field(name) for name in cls.model_fields]
        self.names = plain.names

    def table(
        self,
        cols: EventColumns,
        envelopes: list[Any],
        places: tuple[list[str], list[int], list[int]],
    ) -> pa.Table:
        rows = list(map(msgspec.structs.astuple, envelopes))
        attrs = list(zip(*rows, strict=True))
        n = len(rows)
        values: list[Any] = [*attrs[:-2]]  # traceparent is not a column
        values.insert(3, [cols.event_type] * n)
        arrays = [_array(v, t) for v, t in zip(values, self.envelope_types, strict=True)]
        arrays += [
            _alike(places[0], pa.string()),
            pa.array(places[1], pa.int32()),
            pa.array(places[2], pa.int64()),
        ]
        data = list(map(msgspec.structs.astuple, attrs[-1]))
        fields = list(zip(*data, strict=True))
        arrays += [
            _array(list(f), field.type) for f, field in zip(fields, self.data_fields, strict=True)
        ]
        return pa.Table.from_arrays(arrays, names=self.names)


def _array(values: Sequence[Any], type_: pa.DataType) -> pa.Array:
    """An Arrow array of decoded values, structs and lists of structs included."""
    if pa.types.is_struct(type_):
        width = type_.num_fields
        mask = None
        if None in values:
            mask = pa.array([v is None for v in values], pa.bool_())
            empty = (None,) * width
            rows = [empty if v is None else msgspec.structs.astuple(v) for v in values]
        else:  # the usual case: no row without it, and no Python step per row
            rows = list(map(msgspec.structs.astuple, values))
        children = list(zip(*rows, strict=True)) if rows else [()] * width
        return pa.StructArray.from_arrays(
            [_array(list(c), f.type) for c, f in zip(children, type_, strict=True)],
            fields=list(type_),
            mask=mask,
        )
    if pa.types.is_list(type_) and pa.types.is_struct(type_.value_type):
        offsets, flat, mask, at = [0], [], [], 0
        for v in values:
            mask.append(v is None)
            if v is not None:
                flat += v
                at += len(v)
            offsets.append(at)
        return pa.ListArray.from_arrays(
            pa.array(offsets, pa.int32()),
            _array(flat, type_.value_type),
            type=type_,
            mask=pa.array(mask, pa.bool_()) if any(mask) else None,
        )
    if pa.types.is_timestamp(type_):
        return _times(values, type_)
    if pa.types.is_string(type_):
        return _alike(values, type_)
    return pa.array(values, type_)


def _alike(values: Sequence[Any], type_: pa.DataType) -> pa.Array:
    """Text that is the same in every row (the type, the spec and schema versions, often
    the topic, region and source) repeated by Arrow rather than converted row by row."""
    first = values[0] if values else None
    if first is not None and values[-1] == first and values.count(first) == len(values):
        return pa.repeat(pa.scalar(first, type_), len(values))
    return pa.array(values, type_)


def _times(values: Sequence[datetime | None], type_: pa.DataType) -> pa.Array:
    """Times as their ISO 8601 text (msgspec writes it in C), which Arrow reads into UTC
    timestamps: far faster than asking each time's zone in Python."""
    text = _TEXT.decode(_ENCODER.encode(values))
    try:
        return pc.cast(pa.array(text, pa.string()), type_)
    except pa.ArrowInvalid:  # a time without a zone among them: Arrow takes it as UTC
        return pa.array(values, type_)
