"""Personal fields replaced by a keyed hash: the same customer always gets the same hash
(so an analyst can follow one across events and years), and nobody without the key can
go from a hash back to a name, phone or address by trying likely values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from repairline_ops.columns import PersonalPath
from repairline_platform import personal

_KNOWN = 1_000_000  # hashes kept in memory for values seen again


class Hasher(personal.Hasher):
    """The services' keyed hash (`repairline_platform.personal.Hasher`), over the columns
    of an export's tables too."""

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        # (field, text) or (field, struct type, its fields' values) -> the hash
        self._known: dict[tuple[Any, ...], str] = {}

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
        if not rest and _flat_struct(array.type):
            return self._struct_leaf(array, leaf)
        if not rest:
            return self._leaf(array, leaf)
        names = [array.type.field(i).name for i in range(array.type.num_fields)]
        children = [array.field(i) for i in range(len(names))]
        k = names.index(rest[0])
        children[k] = self._hashed(children[k], rest[1:], leaf)
        return pa.StructArray.from_arrays(children, names=names, mask=array.is_null())

    def _leaf(self, array: pa.Array, leaf: str) -> pa.Array:
        """Each value's hash; a customer recurs across a flush's parts and the flushes
        of a run, so the hashes already computed are kept (up to `_KNOWN` of them)."""
        if len(self._known) > _KNOWN:
            self._known.clear()
        known = self._known
        hashes = []
        for value in array.to_pylist():
            if type(value) is not str:  # 1 == 1.0 == True, yet each has its own hash
                hashes.append(None if value is None else self(leaf, value))
                continue
            found = known.get((leaf, value))
            if found is None:
                found = known[(leaf, value)] = self(leaf, value)
            hashes.append(found)
        return pa.array(hashes, pa.string())

    def _struct_leaf(self, array: pa.StructArray, leaf: str) -> pa.Array:
        """Each struct's hash (a place: latitude and longitude), computed once per
        distinct value, told by the values of its fields (each field has one type, so
        equal values there are the same JSON)."""
        if len(self._known) > _KNOWN:
            self._known.clear()
        known = self._known
        names = [field.name for field in array.type]
        kind = str(array.type)
        rows = zip(*(child.to_pylist() for child in array.flatten()), strict=True)
        hashes: list[str | None] = []
        for valid, row in zip(array.is_valid().to_pylist(), rows, strict=True):
            if not valid:
                hashes.append(None)
                continue
            key = (leaf, kind, row)
            found = known.get(key)
            if found is None:
                found = known[key] = self(leaf, dict(zip(names, row, strict=True)))
            hashes.append(found)
        return pa.array(hashes, pa.string())


def _flat_struct(type_: pa.DataType) -> bool:
    """A struct of scalars (whose values can key the hashes already computed)."""
    return pa.types.is_struct(type_) and not any(pa.types.is_nested(field.type) for field in type_)


def _encodable(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_integer(type_) or pa.types.is_floating(type_)
