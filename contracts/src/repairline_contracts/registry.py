"""Every event type on the wire, by (type, schema version), with upcasters for old versions.

The log is kept and replayed for years: an old version stays readable forever by
upcasting its data to the current model on read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from repairline_contracts import billing, dispatch, feedback, intake
from repairline_contracts.base import Event

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

EVENT_TYPES: tuple[type[Event], ...] = (
    *intake.EVENTS,
    *dispatch.EVENTS,
    *billing.EVENTS,
    *feedback.EVENTS,
)

CURRENT: dict[str, type[Event]] = {cls.event_type: cls for cls in EVENT_TYPES}

# (event type, from version) -> function turning that version's data into the next one's.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    (billing.SettlementStatementIssued.event_type, 1): billing.statement_v1_to_v2,
}


class UnknownEventError(ValueError):
    """The type or version is not one this code knows: the message goes to dead letters."""


class NewerVersionError(UnknownEventError):
    """A known type written at a schema version newer than this code: hold it, do not drop it.

    The producer shipped first; the consumer applies the event once it is upgraded.
    """

    def __init__(self, event_type: str, version: int, known: int) -> None:
        super().__init__(
            f"{event_type} version {version} is newer than this code (knows up to {known})"
        )
        self.event_type = event_type
        self.version = version
        self.known = known


def model_for(event_type: str) -> type[Event]:
    try:
        return CURRENT[event_type]
    except KeyError:
        raise UnknownEventError(f"unknown event type {event_type!r}") from None


def upcast(event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring `data` written at `version` up to the current schema version."""
    cls = model_for(event_type)
    if version > cls.schema_version:
        raise NewerVersionError(event_type, version, cls.schema_version)
    while version < cls.schema_version:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise UnknownEventError(f"no upcaster for {event_type} version {version}")
        data = step(data)
        version += 1
    return data


def is_newer_version(event_type: str, version: int) -> bool:
    """True when a known type arrives at a schema version this code does not know yet."""
    cls = CURRENT.get(event_type)
    return cls is not None and version > cls.schema_version


def load(event_type: str, version: int, data: dict[str, Any]) -> Event:
    """Parse event data of any known version into the current model.

    A tolerant reader: fields this code does not know (a producer that added an optional
    field before its consumers were upgraded) are ignored, at any depth; the data itself
    is left untouched, so the stored envelope keeps them.
    """
    model = model_for(event_type)
    current = upcast(event_type, version, data)
    for _ in range(_MAX_PRUNES):
        try:
            return model.model_validate(current)
        except ValidationError as exc:
            extra = [e["loc"] for e in exc.errors() if e["type"] == "extra_forbidden"]
            if not extra:
                raise
            current = _without(current, extra)
    return model.model_validate(current)


_MAX_PRUNES = 3


def _without(data: Any, locations: list[tuple[int | str, ...]]) -> Any:
    """A deep copy of `data` without the members at `locations`."""
    pruned = copy.deepcopy(data)
    for loc in locations:
        parent = pruned
        try:
            for part in loc[:-1]:
                parent = parent[part]
        except (KeyError, IndexError, TypeError):
            continue  # a location through a union member's name: left to the validator
        if isinstance(parent, dict):
            parent.pop(loc[-1], None)
    return pruned
