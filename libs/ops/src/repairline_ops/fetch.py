"""The log read as the broker stores it: whole record batches, decoded by the workers.

A consumer makes a Python object of every record as it reads, which costs the reading
process 3-5 us of CPU per event. The export does not need those objects in the reading
process: `LogReader` sends Fetch requests itself and hands each partition's bytes as
they came (`Fetched`) to a worker process, which decodes the batches in C (`records`,
about 0.35 us a record). Reading then costs the reading process 1-2 us per event: the
bytes' arrival and their hand-over.

It reads what a consumer with the default isolation would (every record, control
batches skipped), from a given offset up to an end offset.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.protocol.offset import OffsetRequest
from aiokafka.record.memory_records import MemoryRecords

# a batch's first offset and length; the magic byte is at 16 in every format
_HEADER = struct.Struct(">qi")
_HEADER_BYTES = 17
# format 2 keeps the delta of the batch's last offset at 23
_LAST_DELTA = struct.Struct(">i")
_READ_UNCOMMITTED = 0
_MIN_PARTITION_BYTES = 256 * 1024
_EARLIEST = -2  # ListOffsets: the log's first offset
_LATEST = -1  # ListOffsets: the offset after the last record
# how long the broker may wait for data before it answers
_MAX_WAIT_MS = 500
# consecutive failed rounds (each after a metadata refresh and a pause) before giving up
_ATTEMPTS = 20
_BACKOFF_S = 0.5


class ReadFailed(RuntimeError):
    """The log could not be read (the broker kept refusing, or a batch is corrupt)."""


@dataclass(frozen=True)
class Fetched:
    """Whole record batches of one partition, as fetched: the records from `start` up to
    (not including) `stop` are the ones wanted, and the partition is read from `stop` on
    next."""

    topic: str
    partition: int
    start: int
    stop: int
    data: bytes

    def records(self) -> tuple[list[int], list[bytes | None]]:
        """The wanted records' offsets and values, in order (control batches skipped)."""
        offsets: list[int] = []
        values: list[bytes | None] = []
        batches = MemoryRecords(self.data)
        while batches.has_next():
            batch = batches.next_batch()
            if batch is None:  # a batch cut short at the end of the response
                break
            if not batch.validate_crc():
                raise ReadFailed(f"corrupt record batch in {self.topic}:{self.partition} (CRC)")
            if batch.is_control_batch:
                continue
            for record in batch:
                offset = record.offset
                if self.start <= offset < self.stop:
                    offsets.append(offset)
                    values.append(record.value)
        return offsets, values


def next_offset(data: bytes) -> int | None:
    """The offset after the last whole batch in `data` (None: not one whole batch),
    read from the batches' headers alone."""
    at, size, found = 0, len(data), None
    while at + _HEADER_BYTES <= size:
        first, length = _HEADER.unpack_from(data, at)
        if at + 12 + length > size:
            break
        if data[at + 16] >= 2:
            (delta,) = _LAST_DELTA.unpack_from(data, at + 23)
            found = first + delta + 1
        else:  # formats 0 and 1: a wrapper carries the offset of its last record
            found = first + 1
        at += 12 + length
    return found


class LogReader:
    """Reads partitions from their start offsets up to their end offsets (`seek`), one
    Fetch request per broker at a time; `fetch` returns what one round brought."""

    def __init__(
        self,
        bootstrap: str,
        topics: Iterable[str],
        *,
        security: Mapping[str, Any] | None = None,
        request_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.topics = sorted(set(topics))
        self.position: dict[TopicPartition, int] = {}
        self.end: dict[TopicPartition, int] = {}
        self.skipped: dict[TopicPartition, int] = {}  # removed by retention before read
        self._client = AIOKafkaClient(bootstrap_servers=bootstrap, **(security or {}))
        self._request_bytes = request_bytes
        self._partition_bytes = request_bytes
        self._failures = 0

    async def __aenter__(self) -> LogReader:
        await self._client.bootstrap()
        for topic in self.topics:
            self._client.add_topic(topic)
        await self._client.force_metadata_update()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()

    async def first_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return await self._list_offsets(tps, _EARLIEST)

    async def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return await self._list_offsets(tps, _LATEST)

    def seek(self, start: Mapping[TopicPartition, int], end: Mapping[TopicPartition, int]) -> None:
        """Read each partition of `start` from there up to `end`."""
        self.position, self.end = dict(start), {tp: end[tp] for tp in start}
        # every partition a share of each request, so that every round brings records
        # of every partition
        self._partition_bytes = max(_MIN_PARTITION_BYTES, self._request_bytes // max(1, len(start)))

    @property
    def remaining(self) -> set[TopicPartition]:
        return {tp for tp, at in self.position.items() if at < self.end[tp]}

    async def fetch(self) -> list[Fetched]:
        """One Fetch request to each broker leading a partition not read to its end."""
        by_leader: dict[int, list[TopicPartition]] = {}
        stale = False
        for tp in sorted(self.remaining):
            leader = self._client.cluster.leader_for_partition(tp)
            if leader is None or leader == -1:
                stale = True
                continue
            by_leader.setdefault(leader, []).append(tp)
        rounds = await asyncio.gather(
            *(self._fetch(node, tps) for node, tps in by_leader.items()),
            return_exceptions=True,
        )
        fetched: list[Fetched] = []
        for result in rounds:
            if isinstance(result, kafka_errors.KafkaError):
                stale = True
                continue
            if isinstance(result, BaseException):
                raise result
            fetched += result
        if stale or (not fetched and self.remaining):
            await self._failed()
        elif fetched:
            self._failures = 0
        return fetched

    async def _fetch(self, node: int, tps: list[TopicPartition]) -> list[Fetched]:
        topics: dict[str, list[tuple[int, int, int]]] = {}
        for tp in tps:
            topics.setdefault(tp.topic, []).append(
                (tp.partition, self.position[tp], self._partition_bytes)
            )
        request = FetchRequest(
            _MAX_WAIT_MS, 1, self._request_bytes, _READ_UNCOMMITTED, list(topics.items())
        )
        response = await self._client.send(node, request)
        fetched = []
        for topic, partitions in response.topics:
            for partition, error_code, _highwater, *rest in partitions:
                tp = TopicPartition(topic, partition)
                error = kafka_errors.for_code(error_code)
                if error is kafka_errors.OffsetOutOfRangeError:
                    await self._past_retention(tp)
                    continue
                if error is not kafka_errors.NoError:
                    if getattr(error, "retriable", False):
                        raise error(f"{tp.topic}:{tp.partition}")
                    raise ReadFailed(f"{tp.topic}:{tp.partition}: {error.__name__}")
                data = bytes(rest[-1] or b"")
                found = next_offset(data)
                if found is None:
                    continue  # nothing new yet
                start = self.position[tp]
                self.position[tp] = stop = min(found, self.end[tp])
                fetched.append(Fetched(topic, partition, start, stop, data))
        return fetched

    async def _past_retention(self, tp: TopicPartition) -> None:
        """The position is no longer in the log: retention removed those records (they
        are counted in `skipped`), or the topic was emptied or recreated (an error)."""
        first = (await self.first_offsets([tp]))[tp]
        at = self.position[tp]
        if first <= at:
            raise ReadFailed(
                f"{tp.topic}:{tp.partition}: offset {at} is past the log's end;"
                " was the topic recreated?"
            )
        self.skipped[tp] = self.skipped.get(tp, 0) + min(first, self.end[tp]) - at
        self.position[tp] = min(first, self.end[tp])

    async def _list_offsets(
        self, tps: Iterable[TopicPartition], which: int
    ) -> dict[TopicPartition, int]:
        by_leader: dict[int, list[TopicPartition]] = {}
        for tp in tps:
            leader = self._client.cluster.leader_for_partition(tp)
            if leader is None or leader == -1:
                raise ReadFailed(f"{tp.topic}:{tp.partition} has no leader")
            by_leader.setdefault(leader, []).append(tp)
        found: dict[TopicPartition, int] = {}
        for leader, leads in by_leader.items():
            topics: dict[str, list[tuple[int, int]]] = {}
            for tp in leads:
                topics.setdefault(tp.topic, []).append((tp.partition, which))
            request = OffsetRequest(-1, _READ_UNCOMMITTED, list(topics.items()))
            response = await self._client.send(leader, request)
            for topic, partitions in response.topics:
                for partition, error_code, *rest in partitions:
                    error = kafka_errors.for_code(error_code)
                    if error is not kafka_errors.NoError:
                        raise ReadFailed(f"{topic}:{partition}: {error.__name__}")
                    found[TopicPartition(topic, partition)] = rest[-1]
        return found

    async def _failed(self) -> None:
        self._failures += 1
        if self._failures > _ATTEMPTS:
            raise ReadFailed(
                f"{self._failures} rounds of fetches in a row brought nothing"
                f" (partitions left: {len(self.remaining)})"
            )
        await self._client.force_metadata_update()
        await asyncio.sleep(_BACKOFF_S)
