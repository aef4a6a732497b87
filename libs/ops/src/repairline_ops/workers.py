"""Flushes decoded and written in parallel by worker processes.

Parsing, typing, hashing and writing Parquet take far more CPU than reading Kafka, so
while the main process reads, each worker turns one flush's records into its files.
The main process records the flushes in sequence order as they complete (see `sink`).
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import pyarrow.compute as pc

from repairline_ops.decode import Decoded, Decoder
from repairline_ops.personal import Hasher
from repairline_ops.sink import write_files


class PartitionBatch(NamedTuple):
    """Consecutive records of one partition, as the reader hands them over."""

    topic: str
    partition: int
    offsets: list[int]
    values: list[bytes | None]


@dataclass(frozen=True)
class FlushSetup:
    out: Path
    hash_key: bytes | None  # None: personal data kept
    compression: str
    since: datetime | None


@dataclass
class FlushResult:
    rows: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0
    cpu_seconds: float = 0.0  # the worker's CPU time for this flush


_decoder: Decoder | None = None
_setup: FlushSetup | None = None


def _start(setup: FlushSetup) -> None:
    global _decoder, _setup
    _setup = setup
    _decoder = Decoder(Hasher(setup.hash_key) if setup.hash_key is not None else None)


def write_flush(seq: int, batches: list[PartitionBatch]) -> FlushResult:
    """Decode one flush's records and write its files (in a worker)."""
    assert _decoder is not None and _setup is not None, "worker not started"
    started = time.process_time()
    decoded = _decoder.decode_batches(batches)
    if _setup.since is not None:
        decoded = _since(decoded, _setup.since)
    rows = write_files(_setup.out, seq, decoded, _setup.compression)
    return FlushResult(rows, len(decoded.unreadable), time.process_time() - started)


def executor(setup: FlushSetup, workers: int) -> Executor:
    """Worker processes, or one thread when a single worker is asked for."""
    if workers <= 1:
        return ThreadPoolExecutor(1, initializer=_start, initargs=(setup,))
    # forked from a server that imported the decoding code once, not from this process
    # (which runs an event loop and threads); pyarrow imports pandas, when it is
    # installed, in every process that turns Python values into arrays: the server
    # imports it once for all the workers
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "pandas"])
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(setup,))
    for _ in range(workers):  # start them now, while the first flush is being read
        pool.submit(_ready)
    return pool


def _ready() -> None:
    """Nothing: a worker's first task, so that it starts."""


def _since(decoded: Decoded, since: datetime) -> Decoded:
    tables = {
        name: table.filter(pc.greater_equal(table.column("ce_time"), since))
        for name, table in decoded.tables.items()
    }
    return Decoded({n: t for n, t in tables.items() if t.num_rows}, decoded.unreadable)
