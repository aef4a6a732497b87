"""A key customer (FBK-2), in the stream `key-customer:<name>`: always on the morning
callback list, whether or not the last week's callback reached them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce

from repairline_contracts.base import Event
from repairline_contracts.feedback import KeyCustomerNoted


@dataclass(frozen=True)
class NoteKeyCustomer:
    """Mark an organisation or a customer's name as a key customer, with a note."""

    name: str
    note: str = ""


@dataclass(frozen=True)
class KeyCustomer:
    name: str
    note: str | None = None  # None: never noted


def key_customer_stream(name: str) -> str:
    return f"key-customer:{name}"


def evolve(state: KeyCustomer, event: Event) -> KeyCustomer:
    if isinstance(event, KeyCustomerNoted):
        return KeyCustomer(state.name, event.note)
    return state


def fold(stream_id: str, events: Iterable[Event]) -> KeyCustomer:
    return reduce(evolve, events, KeyCustomer(stream_id.removeprefix("key-customer:")))


def decide_note(state: KeyCustomer, cmd: NoteKeyCustomer) -> list[Event]:
    """FBK-2: noted once; the same note again changes nothing."""
    if state.note == cmd.note:
        return []
    return [KeyCustomerNoted(ticket_id=key_customer_stream(cmd.name), name=cmd.name, note=cmd.note)]
