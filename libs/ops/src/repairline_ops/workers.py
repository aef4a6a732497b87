"""Records decoded and written in parallel by worker processes.

Decoding record batches, parsing, typing, hashing and writing Parquet take far more CPU
than reading Kafka, so the main process only fetches: it hands each worker the record
batches of the partitions that worker owns, as fetched, in parts (`take_part`), and the
worker decodes them into tables at once and keeps them. When the flush is complete the
main process asks every worker to write its tables (`write_flush`): one file per event
type and month per flush, however many parts it took, since a Parquet file has a fixed
cost of a few milliseconds. The main process records the flushes in sequence order as
they complete (see `sink`).
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from repairline_ops.decode import Decoded, Decoder, Unreadable
from repairline_ops.fetch import Fetched
from repairline_ops.personal import Hasher
from repairline_ops.sink import write_files


@dataclass(frozen=True)
class FlushSetup:
    out: Path
    hash_key: bytes | None  # None: personal data kept
    compression: str
    since: datetime | None


@dataclass
class FlushResult:
    records: dict[str, int] = field(default_factory=dict)  # topic -> records read
    rows: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0
    cpu_seconds: float = 0.0  # the worker's CPU time for this flush


_decoder: Decoder | None = None
_setup: FlushSetup | None = None
_worker = 0
_taken: dict[int, _Taken] = {}  # flush sequence number -> what its parts decoded


@dataclass
class _Taken:
    records: dict[str, int] = field(default_factory=dict)
    tables: dict[str, list[pa.Table]] = field(default_factory=dict)
    unreadable: list[Unreadable] = field(default_factory=list)
    cpu_seconds: float = 0.0


def _start(setup: FlushSetup, worker: int) -> None:
    global _decoder, _setup, _worker
    _setup, _worker = setup, worker
    _decoder = Decoder(Hasher(setup.hash_key) if setup.hash_key is not None else None)


def take_part(seq: int, fetched: list[Fetched]) -> None:
    """Decode part of flush `seq` and keep its tables until the flush is written."""
    assert _decoder is not None and _setup is not None, "worker not started"
    started = time.process_time()
    taken = _taken.setdefault(seq, _Taken())
    gc.disable()  # a part makes many short-lived objects and no cycles
    try:
        runs = []
        for part in fetched:
            offsets, values = part.records()
            if offsets:
                runs.append((part.topic, part.partition, offsets, values))
                taken.records[part.topic] = taken.records.get(part.topic, 0) + len(offsets)
        decoded = _decoder.decode_batches(runs)
    finally:
        gc.enable()
    if _setup.since is not None:
        decoded = _since(decoded, _setup.since)
    for dataset, table in decoded.tables.items():
        taken.tables.setdefault(dataset, []).append(table)
    taken.unreadable += decoded.unreadable
    taken.cpu_seconds += time.process_time() - started


def write_flush(seq: int) -> FlushResult:
    """Write the tables of flush `seq`'s parts: a file per event type and month."""
    assert _setup is not None, "worker not started"
    started = time.process_time()
    taken = _taken.pop(seq, _Taken())
    tables = {name: pa.concat_tables(parts) for name, parts in taken.tables.items()}
    decoded = Decoded(tables, taken.unreadable)
    rows = write_files(_setup.out, seq, decoded, _setup.compression, writer=_worker)
    cpu = taken.cpu_seconds + time.process_time() - started
    return FlushResult(taken.records, rows, len(decoded.unreadable), cpu)


@contextmanager
def workers(setup: FlushSetup, count: int) -> Iterator[list[Executor]]:
    """One executor per worker, so that a worker gets every part of its topics: worker
    processes, or one thread when a single worker is asked for."""
    if count <= 1:
        with ThreadPoolExecutor(1, initializer=_start, initargs=(setup, 0)) as thread:
            yield [thread]
        return
    # forked from a server that imported the decoding code once, not from this process
    # (which runs an event loop and threads); pyarrow imports pandas, when it is
    # installed, in every process that turns Python values into arrays: the server
    # imports it once for all the workers
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "pandas"])
    with ExitStack() as stack:
        pools: list[Executor] = [
            stack.enter_context(
                ProcessPoolExecutor(1, mp_context=context, initializer=_start, initargs=(setup, i))
            )
            for i in range(count)
        ]
        yield pools


async def wait_started(pools: list[Executor]) -> None:
    """Once every worker has started: forked, and its decoder built."""
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(pool, _ready) for pool in pools))


def _ready() -> None:
    """Nothing: a worker's first task, so that it starts."""


def _since(decoded: Decoded, since: datetime) -> Decoded:
    tables = {
        name: table.filter(pc.greater_equal(table.column("ce_time"), since))
        for name, table in decoded.tables.items()
    }
    return Decoded({n: t for n, t in tables.items() if t.num_rows}, decoded.unreadable)
