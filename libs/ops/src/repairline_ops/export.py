"""`repairline export OUT`: the event log as Parquet, one dataset per event type.

    repairline export exports/                      # every event topic, resumable
    repairline export exports/ --topic billing --since 2026-01-01
    repairline export exports/ --duckdb exports/repairline.duckdb

Reads every partition up to the end offsets seen at the start, from where the last
run stopped (or `--from-offset` on the first run). Personal fields hold a keyed hash
(`REPAIRLINE_EXPORT_HASH_KEY`) unless `--with-personal-data` is given by a user listed
in `REPAIRLINE_EXPORT_PERSONAL_DATA_USERS`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import os
import sys
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from repairline_contracts.topics import CONTEXT_TOPICS
from repairline_ops.fetch import Fetched, LogReader, ReadFailed
from repairline_ops.personal import Hasher
from repairline_ops.progress import TopicProgress
from repairline_ops.sink import ParquetSink, StateMismatch
from repairline_ops.workers import (
    FlushResult,
    FlushSetup,
    take_part,
    wait_started,
    workers,
    write_flush,
)
from repairline_platform.kafka import security_options, topic_partitions
from repairline_platform.settings import KafkaSettings


class ExportSettings(KafkaSettings):
    """The broker (and its credentials) to read, and what the export may write."""

    topic_prefix: str = ""
    export_hash_key: SecretStr | None = None
    export_personal_data_users: str = ""  # comma-separated OS user names


@dataclass
class ExportOptions:
    out: Path
    topics: Sequence[str] = ()  # context names or canonical topic names; empty: all four
    since: datetime | None = None
    from_offset: int = 0
    with_personal_data: bool = False
    compression: str = "zstd"
    batch: int = 250_000
    max_records: int | None = None  # stop after about this many (a partial run)
    progress: bool = True
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))


@dataclass
class ExportReport:
    records: dict[str, int] = field(default_factory=dict)  # topic -> records read this run
    rows: dict[str, int] = field(default_factory=dict)  # dataset -> rows written this run
    unreadable: int = 0
    skipped: int = 0  # removed by retention before they could be read
    seconds: float = 0.0
    complete: bool = False
    worker_cpu_seconds: float = 0.0  # decoding and writing, in the workers

    @property
    def per_second(self) -> float:
        return sum(self.records.values()) / self.seconds if self.seconds else 0.0


class ExportRefused(RuntimeError):
    pass


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", type=Path, help="directory of the Parquet datasets (resumed if there)")
    p.add_argument(
        "--topic",
        action="append",
        default=[],
        help="a context (intake, dispatch, billing, feedback) or topic; repeatable; default all",
    )
    p.add_argument("--since", type=_aware, help="only events at or after this time (ISO 8601)")
    p.add_argument(
        "--from-offset", type=int, default=0, help="first run: start every partition here"
    )
    p.add_argument(
        "--with-personal-data",
        action="store_true",
        help="keep names, phones and addresses (authorised users only)",
    )
    p.add_argument("--duckdb", type=Path, help="also write a DuckDB file with views over the data")
    p.add_argument("--compression", default="zstd", choices=["zstd", "snappy", "gzip", "none"])
    p.add_argument("--batch", type=int, default=250_000, help="records per flush")
    p.add_argument("--max-records", type=int, help="stop after about this many records")
    p.add_argument(
        "--workers", type=int, help="processes decoding and writing (default: CPUs, 4 at most)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    options = ExportOptions(
        out=args.out,
        topics=args.topic,
        since=args.since,
        from_offset=args.from_offset,
        with_personal_data=args.with_personal_data,
        compression=args.compression,
        batch=args.batch,
        max_records=args.max_records,
        progress=not args.quiet,
    )
    if args.workers:
        options.workers = args.workers
    try:
        report = uvloop.run(export_log(options, ExportSettings()))
    except (ExportRefused, StateMismatch) as exc:
        print(f"export refused: {exc}", file=sys.stderr)
        return 2
    except (ReadFailed, KafkaError) as exc:
        print(
            f"export stopped: {exc!r}; run it again to continue from the last flush written",
            file=sys.stderr,
        )
        return 1
    print(
        f"exported {sum(report.records.values())} records into {sum(report.rows.values())} rows"
        f" in {report.seconds:.1f}s ({report.per_second:,.0f}/s);"
        f" {report.unreadable} unreadable; {'complete' if report.complete else 'partial'}"
    )
    if report.skipped:
        print(
            f"warning: {report.skipped} records were removed by the topics' retention before"
            " they could be read",
            file=sys.stderr,
        )
    if args.duckdb:
        from repairline_ops.duck import write_database

        views = write_database(args.duckdb, args.out, hashed=not args.with_personal_data)
        print(f"wrote {len(views)} views to {args.duckdb}")
    return 0


def hash_key_for(options: ExportOptions, settings: ExportSettings) -> bytes | None:
    """The key personal fields are hashed with; None when an authorised user keeps them."""
    if options.with_personal_data:
        allowed = {u.strip() for u in settings.export_personal_data_users.split(",")}
        if getpass.getuser() not in allowed:
            raise ExportRefused(
                f"{getpass.getuser()} may not export personal data"
                " (REPAIRLINE_EXPORT_PERSONAL_DATA_USERS)"
            )
        return None
    if settings.export_hash_key is None:
        raise ExportRefused("set REPAIRLINE_EXPORT_HASH_KEY to hash the personal fields")
    key = settings.export_hash_key.get_secret_value().encode()
    Hasher(key)  # refuses a short key before anything starts
    return key


def chosen_topics(options: ExportOptions, settings: ExportSettings) -> list[str]:
    names = options.topics or list(CONTEXT_TOPICS)
    return [settings.topic_prefix + CONTEXT_TOPICS.get(n, n) for n in names]


async def export_log(options: ExportOptions, settings: ExportSettings) -> ExportReport:
    setup = FlushSetup(
        options.out, hash_key_for(options, settings), options.compression, options.since
    )
    sink = ParquetSink(options.out, with_personal_data=options.with_personal_data)
    security = security_options(settings)
    tps = await topic_partitions(
        settings.kafka_bootstrap, chosen_topics(options, settings), security=security
    )
    reader = LogReader(settings.kafka_bootstrap, {tp.topic for tp in tps}, security=security)
    async with reader:
        with workers(setup, options.workers) as pools:
            await wait_started(pools)  # before the first read, so the first parts wait for none
            return await _Run(options, reader, pools, sink).run(tps)


# records a worker is handed at a time: small enough that decoding follows reading
# closely, large enough that handing them over costs little
PART_RECORDS = 10_000
# parts and writes queued for one worker before the reader waits for it
QUEUED_PER_WORKER = 4


@dataclass
class _Pending:
    """Records read since the last flush: handed to the workers in parts."""

    parts: list[list[Fetched]]  # per worker, not yet handed over
    part_counts: list[int]
    seq: int | None = None  # given when the first part is handed over
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    count: int = 0
    taken: list[asyncio.Future[None]] = field(default_factory=list)
    used: set[int] = field(default_factory=set)  # workers holding parts of it


@dataclass
class _Flush:
    seq: int
    offsets: dict[tuple[str, int], int]
    written: asyncio.Future[list[Any]]


class _Run:
    def __init__(
        self,
        options: ExportOptions,
        reader: LogReader,
        pools: list[Executor],
        sink: ParquetSink,
    ) -> None:
        self.options = options
        self.reader = reader
        self.pools = pools
        self.sink = sink
        self.report = ExportReport()
        self.owner: dict[TopicPartition, int] = {}  # the worker decoding its records
        self._queued: list[deque[asyncio.Future[Any]]] = [deque() for _ in pools]
        self._in_flight: deque[_Flush] = deque()
        self._next_seq = sink.state.seq + 1
        self._read = 0  # offsets read this run

    async def run(self, tps: list[TopicPartition]) -> ExportReport:
        reader = self.reader
        end = await reader.end_offsets(tps)
        start = self._start(await reader.first_offsets(tps))
        reader.seek(start, end)
        started = time.perf_counter()  # the rate counts from the first read
        todo = {tp.topic: 0 for tp in tps}
        for tp in tps:
            todo[tp.topic] += max(0, end[tp] - start[tp])
        pending = self._pending()
        with TopicProgress(todo, enabled=self.options.progress) as progress:
            fetching = self._next_fetch()
            while fetching is not None:
                fetched = await fetching
                if not self.owner:  # the first round: every partition's first records
                    left = {tp: max(0, end[tp] - start[tp]) for tp in tps}
                    self.owner = owners(_bytes_left(left, fetched), len(self.pools))
                for part in fetched:
                    self._take(pending, part, progress)
                # the next fetch travels while this one is handed over
                fetching = self._next_fetch()
                if pending.count >= self.options.batch or fetching is None:
                    await self._flush(pending)
                    pending = self._pending()
                else:
                    await self._hand_over(pending, at_least=PART_RECORDS)
            await self._flush(pending)
            await self._record(until_empty=True)
        self.report.skipped = sum(reader.skipped.values())
        recorded = self.sink.state.next_offset
        self.report.complete = all(
            (recorded(tp.topic, tp.partition) or start[tp]) >= end[tp] for tp in tps
        )
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _next_fetch(self) -> asyncio.Future[list[Fetched]] | None:
        if not self.reader.remaining or self._enough():
            return None
        return asyncio.ensure_future(self.reader.fetch())

    def _pending(self) -> _Pending:
        return _Pending([[] for _ in self.pools], [0] * len(self.pools))

    def _start(self, first: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Where each partition is read from: where the last run stopped, else
        `--from-offset` (or the log's first offset, when later)."""
        start = {}
        for tp, first_offset in first.items():
            recorded = self.sink.state.next_offset(tp.topic, tp.partition)
            start[tp] = (
                recorded if recorded is not None else max(first_offset, self.options.from_offset)
            )
        return start

    def _take(self, pending: _Pending, part: Fetched, progress: TopicProgress) -> None:
        count = part.stop - part.start  # offsets: the records but for gaps compaction left
        limit = self.options.max_records
        if limit is not None and self._read + count > limit:  # a partial run ends here
            count = max(0, limit - self._read)
            part = dataclasses.replace(part, stop=part.start + count)
        if count <= 0:
            return
        worker = self.owner[TopicPartition(part.topic, part.partition)]
        pending.parts[worker].append(part)
        pending.part_counts[worker] += count
        pending.offsets[(part.topic, part.partition)] = part.stop
        pending.count += count
        progress.advance(part.topic, count)
        self._read += count

    def _enough(self) -> bool:
        limit = self.options.max_records
        return limit is not None and self._read >= limit

    async def _hand_over(self, pending: _Pending, *, at_least: int) -> None:
        """Hand each worker its records once it has `at_least` of them."""
        for worker, count in enumerate(pending.part_counts):
            if count and count >= at_least:
                if pending.seq is None:
                    pending.seq, self._next_seq = self._next_seq, self._next_seq + 1
                batches, pending.parts[worker] = pending.parts[worker], []
                pending.part_counts[worker] = 0
                pending.used.add(worker)
                pending.taken.append(await self._submit(worker, take_part, pending.seq, batches))

    async def _submit(self, worker: int, fn: Any, *args: Any) -> asyncio.Future[Any]:
        """Queue a task for one worker, waiting while that worker is far behind."""
        queued = self._queued[worker]
        while queued and (queued[0].done() or len(queued) >= QUEUED_PER_WORKER):
            await asyncio.wait([queued.popleft()])
        future = asyncio.get_running_loop().run_in_executor(self.pools[worker], fn, *args)
        queued.append(future)
        return future

    async def _flush(self, pending: _Pending) -> None:
        """The last parts, then every worker holding parts writes its files; keep at
        most one flush per worker in flight."""
        if not pending.count:
            return
        await self._hand_over(pending, at_least=1)
        assert pending.seq is not None
        writes = [await self._submit(w, write_flush, pending.seq) for w in sorted(pending.used)]
        written = asyncio.gather(*pending.taken, *writes)
        self._in_flight.append(_Flush(pending.seq, pending.offsets, written))
        await self._record(until_empty=False)

    async def _record(self, *, until_empty: bool) -> None:
        """Record written flushes in sequence order."""
        while self._in_flight and (
            until_empty
            or len(self._in_flight) > len(self.pools)
            or self._in_flight[0].written.done()
        ):
            flush = self._in_flight.popleft()
            results = [r for r in await flush.written if isinstance(r, FlushResult)]
            rows: dict[str, int] = {}
            for result in results:
                for topic, n in result.records.items():
                    self.report.records[topic] = self.report.records.get(topic, 0) + n
                for dataset, n in result.rows.items():
                    rows[dataset] = rows.get(dataset, 0) + n
                self.report.unreadable += result.unreadable
                self.report.worker_cpu_seconds += result.cpu_seconds
            self.sink.record(flush.seq, flush.offsets, rows)
            for dataset, n in rows.items():
                self.report.rows[dataset] = self.report.rows.get(dataset, 0) + n


def _bytes_left(
    records: dict[TopicPartition, int], fetched: list[Fetched]
) -> dict[TopicPartition, float]:
    """The bytes each partition has left to read, from its topic's record size in the
    first records fetched: the work of decoding a record grows with its size (an intake
    record is twice a dispatch record), not with the number of records."""
    size: dict[str, list[int]] = {}
    for part in fetched:
        seen = size.setdefault(part.topic, [0, 0])
        seen[0] += len(part.data)
        seen[1] += max(1, part.stop - part.start)
    mean = {topic: total / count for topic, (total, count) in size.items()}
    usual = sum(mean.values()) / len(mean) if mean else 1.0
    return {tp: n * mean.get(tp.topic, usual) for tp, n in records.items()}


def owners(work: dict[TopicPartition, float], workers: int) -> dict[TopicPartition, int]:
    """Each partition's worker. Whole topics when there are enough of them, so that a
    worker writes the files of fewer event types; else partitions. The busiest first,
    each to the least loaded worker."""
    topics: dict[str, list[TopicPartition]] = {}
    for tp in work:
        topics.setdefault(tp.topic, []).append(tp)
    units = (
        [tuple(tps) for tps in topics.values()]
        if len(topics) >= workers
        else [(tp,) for tp in work]
    )
    load = [0.0] * workers
    owner = {}
    for unit in sorted(units, key=lambda u: (-sum(work[tp] for tp in u), str(u[0]))):
        worker = load.index(min(load))
        for tp in unit:
            owner[tp] = worker
        load[worker] += sum(work[tp] for tp in unit)
    return owner


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
