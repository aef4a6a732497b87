"""The maker's sales record of one unit, by serial number (WAR-3). Pure.

Intake starts the warranty from it when the customer shows no proof of purchase. The
stream is `sales-record:<serial_no>`; a later record replaces the earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce

from repairline_contracts.base import Event
from repairline_contracts.intake import SaleRecorded
from repairline_rules import warranty
from repairline_rules.packs import PackBook, PolicyPack, UnknownProduct
from repairline_rules.routing import PackRouting

STREAM_PREFIX = "sales-record:"


def stream_id(serial_no: str) -> str:
    return f"{STREAM_PREFIX}{serial_no}"


@dataclass(frozen=True)
class RecordSale:
    """WAR-3: record (or correct) the sale of the unit with this serial number."""

    serial_no: str
    product_line: str
    sold_on: date
    model: str | None = None


@dataclass(frozen=True)
class SalesRecord:
    """The record as it stands: None fields until a sale was recorded."""

    stream_id: str
    product_line: str | None = None
    model: str | None = None
    sold_on: date | None = None

    def says(self, cmd: RecordSale) -> bool:
        return (self.product_line, self.model, self.sold_on) == (
            cmd.product_line,
            cmd.model,
            cmd.sold_on,
        )


def decide(record: SalesRecord, cmd: RecordSale, *, now: datetime) -> list[Event]:
    """WAR-3: a new or corrected record is recorded; the same record again changes nothing."""
    if record.says(cmd):
        return []
    recorded = SaleRecorded(
        ticket_id=stream_id(cmd.serial_no),
        serial_no=cmd.serial_no,
        product_line=cmd.product_line,
        model=cmd.model,
        sold_on=cmd.sold_on,
        recorded_at=now,
    )
    return [recorded]


def evolve(record: SalesRecord, event: Event) -> SalesRecord:
    if isinstance(event, SaleRecorded):
        return SalesRecord(record.stream_id, event.product_line, event.model, event.sold_on)
    return record


def fold(stream_id: str, events: Iterable[Event]) -> SalesRecord:
    return reduce(evolve, events, SalesRecord(stream_id))


def record_pack(
    packs: PackBook, routing: PackRouting, product_line: str, at: datetime
) -> PolicyPack:
    """The pack a request for the recorded unit opened at `at` would be decided by: the
    deployment's mapping by the record's product line, in the version in force then. A
    sales record names no region, brand or contract: routes asking for one of them do
    not match it."""
    pack_id = routing.choose(product_line=product_line, region="")
    return packs.opened_at(pack_id, at)


def warranty_by_serial(
    pack: PolicyPack, product_line: str, sold_on: date, *, today: date
) -> warranty.WarrantyDecision | None:
    """WAR-3: what a request for this unit without proof of purchase would be told today:
    the warranty runs from the recorded sale date (WAR-1, WAR-5 terms of the pack). None
    when the pack does not know the product line."""
    try:
        return warranty.assess_warranty(
            pack,
            product=product_line,
            on=today,
            proof=warranty.Proof(serial_lookup_date=sold_on),
        )
    except UnknownProduct:
        return None
