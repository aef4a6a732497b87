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

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import SecretStr

from repairline_contracts.topics import CONTEXT_TOPICS
from repairline_ops.personal import Hasher
from repairline_ops.progress import TopicProgress
from repairline_ops.sink import ParquetSink, StateMismatch
from repairline_ops.workers import (
    FlushResult,
    FlushSetup,
    PartitionBatch,
    executor,
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
    batch: int = 100_000
    max_records: int | None = None  # stop after about this many (a partial run)
    progress: bool = True
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))


@dataclass
class ExportReport:
    records: dict[str, int] = field(default_factory=dict)  # topic -> records read this run
    rows: dict[str, int] = field(default_factory=dict)  # dataset -> rows written this run
    unreadable: int = 0
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
    p.add_argument("--batch", type=int, default=100_000, help="records per flush")
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
        report = asyncio.run(export_log(options, ExportSettings()))
    except (ExportRefused, StateMismatch) as exc:
        print(f"export refused: {exc}", file=sys.stderr)
        return 2
    print(
        f"exported {sum(report.records.values())} records into {sum(report.rows.values())} rows"
        f" in {report.seconds:.1f}s ({report.per_second:,.0f}/s);"
        f" {report.unreadable} unreadable; {'complete' if report.complete else 'partial'}"
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
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
        **security_options(settings),
    )
    await consumer.start()
    try:
        tps = await topic_partitions(
            settings.kafka_bootstrap,
            chosen_topics(options, settings),
            security=security_options(settings),
        )
        with executor(setup, options.workers) as pool:
            return await _Run(options, consumer, pool, sink).run(tps)
    finally:
        await consumer.stop()


@dataclass
class _Pending:
    """Records read since the last flush, per partition."""

    batches: list[PartitionBatch] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    count: int = 0


@dataclass
class _Flush:
    seq: int
    offsets: dict[tuple[str, int], int]
    written: asyncio.Future[FlushResult]


class _Run:
    def __init__(
        self, options: ExportOptions, consumer: AIOKafkaConsumer, pool: Executor, sink: ParquetSink
    ) -> None:
        self.options = options
        self.consumer = consumer
        self.pool = pool
        self.sink = sink
        self.report = ExportReport()
        self._in_flight: deque[_Flush] = deque()
        self._next_seq = sink.state.seq + 1

    async def run(self, tps: list[TopicPartition]) -> ExportReport:
        started = time.perf_counter()
        end = await self.consumer.end_offsets(tps)
        start = await self._seek(tps)
        remaining = {tp for tp in tps if start[tp] < end[tp]}
        todo = {tp.topic: 0 for tp in tps}
        for tp in tps:
            todo[tp.topic] += max(0, end[tp] - start[tp])
        pending = _Pending()
        with TopicProgress(todo, enabled=self.options.progress) as progress:
            while remaining and not self._enough():
                fetched = await self.consumer.getmany(
                    *remaining, timeout_ms=1000, max_records=min(10_000, self.options.batch)
                )
                for tp, records in fetched.items():
                    self._take(pending, tp, records, end[tp], progress)
                for tp in list(remaining):
                    if await self.consumer.position(tp) >= end[tp]:
                        remaining.discard(tp)
                if pending.count >= self.options.batch or not remaining or self._enough():
                    await self._flush(pending)
                    pending = _Pending()
            await self._flush(pending)
            await self._record(until_empty=True)
        self.report.complete = not remaining
        self.report.seconds = time.perf_counter() - started
        return self.report

    async def _seek(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        first = await self.consumer.beginning_offsets(tps)
        self.consumer.assign(tps)
        start = {}
        for tp in tps:
            recorded = self.sink.state.next_offset(tp.topic, tp.partition)
            start[tp] = (
                recorded if recorded is not None else max(first[tp], self.options.from_offset)
            )
            self.consumer.seek(tp, start[tp])
        return start

    def _take(
        self,
        pending: _Pending,
        tp: TopicPartition,
        records: list[Any],
        end: int,
        progress: TopicProgress,
    ) -> None:
        if records and records[-1].offset >= end:
            records = [r for r in records if r.offset < end]
        if not records:
            return
        pending.batches.append(
            PartitionBatch(
                tp.topic, tp.partition, [r.offset for r in records], [r.value for r in records]
            )
        )
        pending.offsets[(tp.topic, tp.partition)] = records[-1].offset + 1
        pending.count += len(records)
        progress.advance(tp.topic, len(records))
        self.report.records[tp.topic] = self.report.records.get(tp.topic, 0) + len(records)

    def _enough(self) -> bool:
        limit = self.options.max_records
        return limit is not None and sum(self.report.records.values()) >= limit

    async def _flush(self, pending: _Pending) -> None:
        """Hand the flush to a worker; keep at most one flush per worker in flight."""
        if not pending.count:
            return
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        written = asyncio.get_running_loop().run_in_executor(
            self.pool, write_flush, seq, pending.batches
        )
        self._in_flight.append(_Flush(seq, pending.offsets, written))
        await self._record(until_empty=False)

    async def _record(self, *, until_empty: bool) -> None:
        """Record written flushes in sequence order."""
        while self._in_flight and (
            until_empty
            or len(self._in_flight) > self.options.workers
            or self._in_flight[0].written.done()
        ):
            flush = self._in_flight.popleft()
            result = await flush.written
            self.sink.record(flush.seq, flush.offsets, result.rows)
            for dataset, n in result.rows.items():
                self.report.rows[dataset] = self.report.rows.get(dataset, 0) + n
            self.report.unreadable += result.unreadable
            self.report.worker_cpu_seconds += result.cpu_seconds


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
