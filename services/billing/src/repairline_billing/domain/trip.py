"""FEE-7 travel allowances (stream `trip:<id>`). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from repairline_contracts.base import Decision, Event
from repairline_contracts.billing import (
    TravelAllowanceGranted,
)
from repairline_rules import fees
from repairline_rules.packs import NotInPack, PolicyPack
from repairline_rules.refusals import IllegalTransition


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


@dataclass(frozen=True)
class GrantTrip:
    """FEE-7: an engineer's trip for a job, with the hotel paid per night."""

    trip_id: str
    engineer_id: str
    ticket_id: str
    departed_at: datetime
    returned_at: datetime
    hotel_fen_per_night: tuple[int, ...] = ()


def trip_stream(trip_id: str) -> str:
    return f"trip:{trip_id}"


def fold(stream_id: str, events: Iterable[Event]) -> bool:
    """Whether the trip's allowance is granted."""
    return any(isinstance(e, TravelAllowanceGranted) for e in events)


def decide(granted: bool, command: GrantTrip, *, pack: PolicyPack, now: datetime) -> list[Event]:
    """FEE-7 once per trip; a pack without allowances or an impossible trip is refused."""
    if granted:
        raise IllegalTransition(f"trip {command.trip_id} is already granted", "granted")
    try:
        allowance = decide_trip(
            pack,
            ticket_id=command.ticket_id,
            trip_id=command.trip_id,
            engineer_id=command.engineer_id,
            departed_at=command.departed_at,
            returned_at=command.returned_at,
            hotel_fen_per_night=command.hotel_fen_per_night,
            now=now,
        )
    except NotInPack as exc:
        raise IllegalTransition(str(exc), "no-travel-allowance") from exc
    except ValueError as exc:
        raise IllegalTransition(str(exc), "invalid-trip") from exc
    return [allowance]
