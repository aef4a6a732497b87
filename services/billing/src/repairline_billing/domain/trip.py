"""FEE-7 travel allowances (stream `trip:<id>`). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from repairline_contracts.base import Decision
from repairline_contracts.billing import (
    TravelAllowanceGranted,
)
from repairline_rules import fees
from repairline_rules.packs import PolicyPack


def decide_trip(
    pack: PolicyPack,
    *,
    ticket_id: str,
    trip_id: str,
    engineer_id: str,
    departed_at: datetime,
    returned_at: datetime,
    hotel_fen_per_night: Sequence[int],
    now: datetime,
) -> TravelAllowanceGranted:
    """FEE-7: the trip's meals and hotel allowance."""
    decided = fees.travel_allowance(
        pack,
        departed_at=departed_at,
        returned_at=returned_at,
        hotel_fen_per_night=hotel_fen_per_night,
    )
    return TravelAllowanceGranted(
        ticket_id=ticket_id,
        trip_id=trip_id,
        engineer_id=engineer_id,
        departed_at=departed_at,
        returned_at=returned_at,
        trip_days=str(decided.trip_days),
        meals_fen=decided.meals_fen,
        hotel_fen=decided.hotel_fen,
        total_fen=decided.total_fen,
        reason=decided.reason,
        decision=Decision.of(decided),
        granted_at=now,
    )
