"""FEE-7 travel allowances."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from repairline_billing import domain as d
from repairline_rules import load_pack

WH = load_pack("water-heater")
SW = load_pack("software-support")
OE = load_pack("office-equipment")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 6, 3, 10, 0, tzinfo=SH)


def test_fee_7_a_trip_leaving_after_noon_and_back_before_noon_counts_two_days():
    trip = d.decide_trip(
        SW,
        ticket_id="t1",
        trip_id="trip",
        engineer_id="e1",
        departed_at=datetime(2030, 6, 10, 14, 0, tzinfo=SH),
        returned_at=datetime(2030, 6, 12, 11, 0, tzinfo=SH),
        hotel_fen_per_night=[15000, 10000],
        now=NOW,
    )
    assert (trip.trip_days, trip.meals_fen, trip.hotel_fen, trip.total_fen) == (
        "2",
        6000,
        22000,
        28000,
    )
