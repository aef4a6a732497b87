"""Record batches as fetched: which records a part holds, and where the next fetch starts."""

from __future__ import annotations

import pickle
import struct

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.util import calc_crc32c

from repairline_ops.fetch import Fetched, ReadFailed, next_offset

_CONTROL = 0x20  # attributes: a control batch (a transaction's marker)


def batch(base: int, values: list[bytes | None], *, control: bool = False) -> bytes:
    """A record batch as the broker stores it: `values` at offsets base, base + 1, ..."""
    builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 1 << 20)
    for delta, value in enumerate(values):
        builder.append(delta, 1_700_000_000_000, b"key", value, [])
    data = bytearray(builder.build())
    struct.pack_into(">q", data, 0, base)  # the broker sets the base offset
    if control:
        (attributes,) = struct.unpack_from(">h", data, 21)
        struct.pack_into(">h", data, 21, attributes | _CONTROL)
        struct.pack_into(">I", data, 17, calc_crc32c(bytes(data[21:])))
    return bytes(data)


def test_a_part_holds_the_records_from_its_start_to_its_stop_tombstones_included() -> None:
    data = batch(10, [b"a", b"b", None, b"d"]) + batch(14, [b"e", b"f"])
    part = Fetched("t", 3, start=11, stop=15, data=data)
    # the broker answers with the whole batch holding the fetch offset: 10 is skipped
    assert part.records() == ([11, 12, 13, 14], [b"b", None, b"d", b"e"])


def test_control_batches_are_skipped_and_the_part_survives_the_hand_over() -> None:
    data = batch(0, [b"a"]) + batch(1, [b"marker"], control=True) + batch(2, [b"c"])
    part = pickle.loads(pickle.dumps(Fetched("t", 0, start=0, stop=3, data=data)))
    assert part.records() == ([0, 2], [b"a", b"c"])


def test_the_next_offset_is_read_from_whole_batches_only() -> None:
    data = batch(5, [b"a", b"b", b"c"]) + batch(8, [b"d", b"e"])
    assert next_offset(data) == 10
    # a response cut inside its last batch: that batch is fetched again next time
    assert next_offset(data[:-3]) == 8
    assert next_offset(data[:20]) is None
    assert next_offset(b"") is None


def test_a_corrupt_batch_is_refused_by_name_of_its_partition() -> None:
    data = bytearray(batch(0, [b"value"]))
    data[-2] ^= 0xFF
    with pytest.raises(ReadFailed, match="t:4"):
        Fetched("t", 4, start=0, stop=1, data=bytes(data)).records()
