"""Base classes shared by every event on the wire."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

M = TypeVar("M", bound=BaseModel)

# One page of a long list inside an event (a month of settlement lines): far below the
# platform's per-event limit, so a page with its envelope always fits a Kafka message.
MAX_PAGE_BYTES = 256 * 1024


class Event(BaseModel):
    """An immutable fact, published by exactly one context.

    `event_type` is the CloudEvents `type` attribute and `schema_version` travels in
    the `schemaversion` extension; both are part of the wire contract.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int]
    topic: ClassVar[str]

    ticket_id: str = Field(description="The repair ticket this fact is about; the Kafka key.")


class Decision(BaseModel):
    """Which policy pack, version and rules decided something (the answer to 'why?')."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pack_id: str = Field(description="Policy pack id, e.g. `water-heater`.")
    pack_version: str = Field(description="Version of the policy pack that decided.")
    rule_ids: tuple[str, ...] = Field(description="Rule ids from RULES.md that decided.")

    @classmethod
    def of(cls, outcome: Decision) -> Decision:
        """Just the pack, version and rule ids of a rule's outcome, as events record them."""
        return cls(
            pack_id=outcome.pack_id, pack_version=outcome.pack_version, rule_ids=outcome.rule_ids
        )


def event_payload(event: Event) -> dict[str, Any]:
    """The event's data as JSON-ready primitives (the CloudEvents `data` member)."""
    return event.model_dump(mode="json")


def pages(items: Sequence[M], *, max_bytes: int = MAX_PAGE_BYTES) -> list[tuple[M, ...]]:
    """Consecutive pages of `items` whose JSON stays within `max_bytes` each.

    An event whose list can grow without bound (a settlement statement's lines) is
    published as a header plus one event per page; every page has at least one item, and
    an empty list is one empty page.
    """
    out: list[tuple[M, ...]] = []
    page: list[M] = []
    size = 2  # the brackets of the JSON array
    for item in items:
        item_size = len(item.model_dump_json().encode()) + 1  # and its comma
        if page and size + item_size > max_bytes:
            out.append(tuple(page))
            page, size = [], 2
        page.append(item)
        size += item_size
    out.append(tuple(page))
    return out
