"""The batch path of a replay: each record read once, no inbox ids, reading beside writing.

A replay empties the projection's tables and reads every partition once, in order, from
offset 0 up to the end offsets seen at its start. The offsets stored with each batch are
all the bookkeeping that needs: the inbox's per-event ids (`processed_events`), which
make a live consumer's redeliveries no-ops, are not written during a replay.

- Records of types the projection does not read are skipped on their `type` alone (a
  msgspec peek at the bytes, no envelope built). A record that is not JSON, has no type
  or a type nobody knows is read in full, and dead-lettered, as a live consumer does; a
  known type the projection does not read is not validated (it was judged when the live
  consumer first read it).
- The records the projection reads are parsed by the live consumer's own code
  (`InboxConsumer._read`), so each is applied, held or dead-lettered exactly as live.
- While the database writes one batch, the next is read and decoded.
- A batch applies in one transaction through the same `InboxConsumer.process` as live:
  held streams are parked, a batch that fails is applied item by item, the culprit is
  dead-lettered once per consumer, and the offsets move by compare-and-set.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec

from repairline_contracts.registry import CURRENT
from repairline_platform.consumer import BatchResult, InboxConsumer, Record, _Entry
from repairline_platform.eventstore import Delivered

Position = tuple[str, int, int]


class _Head(msgspec.Struct):
    """The one attribute a replay looks at before deciding to parse a record."""

    type: str


_HEAD = msgspec.json.Decoder(_Head)


def peek_type(value: bytes | None) -> str | None:
    """The envelope's `type`, or None when the bytes are not a JSON object with one."""
    if value is None:
        return None
    try:
        return _HEAD.decode(value).type
    except msgspec.DecodeError:  # msgspec.ValidationError included
        return None


class ReplayInbox(InboxConsumer):
    """The inbox of one projection during its replay: no per-event ids, records read
    ahead of the batch that applies them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ahead: dict[Position, _Entry] = {}

    def read_ahead(self, records: Sequence[Record]) -> None:
        """Decode a batch before it is applied (while the previous one is written).

        The collector is off meanwhile: decoding makes thousands of objects and no
        cycles, and each collection it would trigger scans every event still held."""
        gc.disable()
        try:
            for r in records:
                self._ahead[(r.topic, r.partition, r.offset)] = self._entry(r)
        finally:
            gc.enable()

    def _read(self, record: Record) -> _Entry:
        entry = self._ahead.pop((record.topic, record.partition, record.offset), None)
        return entry if entry is not None else self._entry(record)

    def _entry(self, record: Record) -> _Entry:
        kind = peek_type(record.value)
        if kind in CURRENT and kind not in self.handler.event_types:
            return _Entry(record)  # ignored, as live, without building its envelope
        return super()._read(record)

    async def _claim(
        self, conn: Any, items: Sequence[Delivered], result: BatchResult
    ) -> list[Delivered]:
        """Every item: each record is read once, and the offsets say how far."""
        return list(items)

    async def _claim_and_store(
        self,
        conn: Any,
        items: Sequence[Delivered],
        moves: dict[tuple[str, int], tuple[int | None, int]],
        result: BatchResult,
    ) -> list[Delivered]:
        """Every item, unclaimed (`_claim`); the offsets stored as live."""
        await super()._claim_and_store(conn, (), moves, result)
        return list(items)


async def apply_all(inbox: ReplayInbox, batches: AsyncIterator[list[Any]]) -> tuple[int, int]:
    """Apply every batch in order, decoding each while the one before it is written;
    returns (records read, events applied)."""
    events = applied = 0
    writing: asyncio.Task[BatchResult] | None = None
    try:
        async for records in batches:
            inbox.read_ahead(records)
            if writing is not None:
                applied += (await writing).applied
            writing = asyncio.create_task(inbox.process(records))
            events += len(records)
        if writing is not None:
            applied += (await writing).applied
            writing = None
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
    return events, applied
