"""Personal fields replaced by a keyed hash: the same customer always gets the same hash
(so an analyst can follow one across events and years), and nobody without the key can
go from a hash back to a name, phone or address by trying likely values."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from repairline_ops.columns import PersonalPath

_NOT_DIAL = re.compile(r"[^\d+]")
_PHONE_FIELDS = frozenset({"phone", "mobile"})


class Hasher:
    """Keyed BLAKE2b (a MAC) of a normalised value under the configured key, 32 hex digits."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the personal-data hash key must be at least 16 bytes")
        self._key = key if len(key) <= 64 else hashlib.sha256(key).digest()

    def __call__(self, field: str, value: Any) -> str:
        message = _normalised(field, value).encode()
        return hashlib.blake2b(message, key=self._key, digest_size=16).hexdigest()

    def hash_columns(self, table: pa.Table, paths: Sequence[PersonalPath]) -> pa.Table:
        """The table with the values at `paths` (top-level or inside structs) hashed."""
        for path in paths:
            if "*" in path:
                raise NotImplementedError(f"personal fields inside lists: {path}")
            i = table.schema.get_field_index(path[0])
            column = table.column(i).combine_chunks()
            table = table.set_column(i, path[0], self._hashed(column, path[1:], path[-1]))
        return table

    def _hashed(self, array: pa.Array, rest: PersonalPath, leaf: str) -> pa.Array:
        if not rest and _encodable(array.type):
            # each distinct value hashed once: a customer's name recurs in many events
            encoded = array.dictionary_encode()
            return self._leaf(encoded.dictionary, leaf).take(encoded.indices)
        if not rest:
            return self._leaf(array, leaf)
        names = [array.type.field(i).name for i in range(array.type.num_fields)]
        children = [array.field(i) for i in range(len(names))]
        k = names.index(rest[0])
        children[k] = self._hashed(children[k], rest[1:], leaf)
        return pa.StructArray.from_arrays(children, names=names, mask=array.is_null())

    def _leaf(self, array: pa.Array, leaf: str) -> pa.Array:
        values = array.to_pylist()
        return pa.array([None if v is None else self(leaf, v) for v in values], pa.string())


def _encodable(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_integer(type_) or pa.types.is_floating(type_)


def _normalised(field: str, value: Any) -> str:
    """One spelling per value: `139 0000-0000` and `13900000000` are the same phone."""
    if not isinstance(value, str):
        return json.dumps(value, sort_keys=True)
    if field in _PHONE_FIELDS:
        return _NOT_DIAL.sub("", value)
    return " ".join(value.split()).casefold()
