"""What every decision carries: the pack that decided it and the rules that did.

`Decision` is the one on the wire (`repairline_contracts.base`): every rule's outcome
is one, and `Decision.of(outcome)` is what an event records of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from repairline_contracts.base import Decision

__all__ = ["Decision", "Value", "a_date", "add_months", "aware", "stamp", "utc"]

if TYPE_CHECKING:
    from repairline_rules.packs import PolicyPack


class Value(BaseModel):
    """Base of the small immutable values used inside decisions and as inputs."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def stamp(pack: PolicyPack, rule_ids: Iterable[str]) -> dict[str, object]:
    """The common decision fields, with rule ids in first-seen order and without repeats."""
    return {
        "pack_id": pack.id,
        "pack_version": pack.version,
        "rule_ids": tuple(dict.fromkeys(rule_ids)),
    }


def aware(value: datetime, name: str) -> datetime:
    """Return ``value`` if it carries a time zone; raise ValueError for a naive datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def utc(value: datetime, name: str) -> datetime:
    """An aware datetime converted to UTC, the only zone where arithmetic is elapsed time."""
    return aware(value, name).astimezone(UTC)


def a_date(value: date, name: str) -> date:
    """Return ``value`` if it is a plain date (not a datetime)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date, got {type(value).__name__}")
    return value


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the month's last day (31 Jan + 1 = 28 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")
