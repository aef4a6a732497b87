"""Columns derived from the contracts, personal fields and their keyed hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from repairline_contracts.registry import CURRENT, EVENT_TYPES
from repairline_contracts.topics import INTAKE_EVENTS
from repairline_ops.columns import columns_for, dataset_name
from repairline_ops.decode import Decoder
from repairline_ops.personal import Hasher
from repairline_ops.sample import generate

KEY = b"unit-test-key-0123456789"


@dataclass(frozen=True)
class Rec:
    topic: str
    partition: int
    offset: int
    value: bytes | None


def test_every_event_type_has_columns_in_both_modes() -> None:
    for cls in EVENT_TYPES:
        hashed, plain = columns_for(cls, hashed=True), columns_for(cls, hashed=False)
        assert hashed.schema.names == plain.schema.names
        assert hashed.schema.field("ce_time").type == pa.timestamp("us", tz="UTC")


def test_money_and_times_are_typed() -> None:
    cols = columns_for(CURRENT["repairline.billing.PenaltyAssessed"], hashed=True)
    assert cols.schema.field("fine_fen").type == pa.int64()
    assert cols.schema.field("offence_at").type == pa.timestamp("us", tz="UTC")
    assert dataset_name(cols.event_type) == "billing_penalty_assessed"


def test_the_customers_identity_and_whereabouts_are_personal() -> None:
    cols = columns_for(CURRENT["repairline.intake.RepairRequested"], hashed=True)
    assert set(cols.personal) == {
        ("customer", "name"),
        ("customer", "phone"),
        ("customer", "mobile"),
        ("customer", "address"),
        ("location",),
    }
    assert cols.schema.field("location").type == pa.string()
    assert not columns_for(CURRENT["repairline.intake.RepairRequested"], hashed=False).personal


def test_the_hash_is_keyed_stable_and_ignores_spelling() -> None:
    h = Hasher(KEY)
    assert h("mobile", "+86 139-0000 0000") == h("mobile", "+8613900000000")
    assert h("name", "Li  Wei ") == h("name", "li wei")
    assert h("name", "Li Wei") != Hasher(b"another-key-0123456789")("name", "Li Wei")
    assert len(h("address", "88 Example Road")) == 32
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Hasher(b"short")


class _Counting(Hasher):
    """The export's hasher, counting the values it actually hashes."""

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self.hashed: list[object] = []

    def __call__(self, field: str, value: object) -> str:
        self.hashed.append(value)
        return super().__call__(field, value)


def test_a_place_is_hashed_as_the_whole_value_and_each_distinct_place_once() -> None:
    place = pa.struct([("lat", pa.float64()), ("lon", pa.float64())])
    places = [None, {"lat": 30.0, "lon": 120.0}, None, {"lat": 30.0, "lon": 120.0}]
    places += [{"lat": 31.5, "lon": 121.25}]
    table = pa.table({"location": pa.array(places, place).slice(1)})  # an offset, too
    h, plain = _Counting(KEY), Hasher(KEY)
    hashed = h.hash_columns(table, [("location",)]).column("location").to_pylist()
    assert hashed == [plain("location", places[1]), None, hashed[0], plain("location", places[4])]
    assert len(h.hashed) == 2
    # the same place in whole numbers is another JSON value, and another hash
    whole = pa.struct([("lat", pa.int64()), ("lon", pa.int64())])
    ints = pa.table({"location": pa.array([{"lat": 30, "lon": 120}], whole)})
    [other] = h.hash_columns(ints, [("location",)]).column("location").to_pylist()
    assert other == plain("location", {"lat": 30, "lon": 120}) != hashed[0]


def test_unreadable_records_are_reported_by_position_not_content() -> None:
    good = generate(tickets=1, extras_per_type=0)[0]
    decoded = Decoder(Hasher(KEY)).decode(
        [
            Rec(INTAKE_EVENTS, 0, 0, good.to_bytes()),
            Rec(INTAKE_EVENTS, 0, 1, b'{"secret": "13900000000"'),
            Rec(INTAKE_EVENTS, 0, 2, None),
        ]
    )
    assert decoded.tables["intake_repair_requested"].num_rows == 1
    assert [(u.offset, "13900000000" in u.error) for u in decoded.unreadable] == [
        (1, False),
        (2, False),
    ]


def test_a_record_the_fast_reader_refuses_goes_through_the_models() -> None:
    arrived = next(
        e for e in generate(tickets=3, extras_per_type=0) if e.type.endswith("ArrivedOnSite")
    )
    pretty = arrived.model_dump_json(indent=2).encode()  # newlines: not one JSON line
    decoded = Decoder(Hasher(KEY)).decode([Rec("t", 0, 5, pretty)])
    [row] = decoded.tables["dispatch_arrived_on_site"].to_pylist()
    assert row["arrived_at"] == arrived.event().arrived_at.astimezone(UTC)
    assert row["kafka_offset"] == 5 and isinstance(row["ce_time"], datetime)
