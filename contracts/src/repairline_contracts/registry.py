"""Every event type on the wire, by (type, schema version), with upcasters for old versions.

The log is kept and replayed for years: an old version stays readable forever by
upcasting its data to the current model on read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UnknownEventError(ValueError):
    """The type or version is not one this code knows: the message goes to dead letters."""


def model_for(event_type: str) -> type[Event]:
    try:
        return CURRENT[event_type]
    except KeyError:
        raise UnknownEventError(f"unknown event type {event_type!r}") from None


def upcast(event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring `data` written at `version` up to the current schema version."""
    cls = model_for(event_type)
    if version > cls.schema_version:
        raise UnknownEventError(
            f"{event_type} version {version} is newer than this code "
            f"(knows up to {cls.schema_version})"
        )
    while version < cls.schema_version:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise UnknownEventError(f"no upcaster for {event_type} version {version}")
        data = step(data)
        version += 1
    return data


def load(event_type: str, version: int, data: dict[str, Any]) -> Event:
    """Parse event data of any known version into the current model."""
    return model_for(event_type).model_validate(upcast(event_type, version, data))
