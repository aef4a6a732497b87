"""Parquet files per event type and month, and the record of how far the export got.

Each flush writes its files under a new sequence number (flushes may be written in
parallel), then, in sequence order, the state records in one atomic rename that
sequence number with the next offset of every partition. A run that
stops between the two leaves files of a sequence the state does not know: the next
run deletes them before it starts, so no row is ever written twice.

    <out>/<dataset>/month=2026-11/part-00000007-0.parquet   (flush 7, worker 0)
    <out>/_unreadable/month=.../part-...parquet   (position and reason, never content)
    <out>/_export_state.json
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from repairline_ops.decode import Decoded, months

STATE_FILE = "_export_state.json"
UNREADABLE = "_unreadable"
_WRITERS = 4  # threads writing one flush's files
_STATISTICS = ("ce_time", "kafka_partition", "kafka_offset")
_PART = re.compile(r"part-(\d{8})(?:-\d+)?\.parquet$")
_UNREADABLE_SCHEMA = pa.schema(
    [
        ("kafka_topic", pa.string()),
        ("kafka_partition", pa.int32()),
        ("kafka_offset", pa.int64()),
        ("error", pa.string()),
    ]
)


class StateMismatch(RuntimeError):
    """The directory holds an export made with other personal-data settings."""


@dataclass
class ExportState:
    with_personal_data: bool
    seq: int = 0
    offsets: dict[str, int] = field(default_factory=dict)  # "topic:partition" -> next offset
    rows: dict[str, int] = field(default_factory=dict)  # dataset -> rows written

    def next_offset(self, topic: str, partition: int) -> int | None:
        return self.offsets.get(f"{topic}:{partition}")


class ParquetSink:
    def __init__(self, out: Path, *, with_personal_data: bool) -> None:
        self.out = out
        self.state = self._load(with_personal_data)
        self._remove_unrecorded()

    def _load(self, with_personal_data: bool) -> ExportState:
        path = self.out / STATE_FILE
        if not path.exists():
            return ExportState(with_personal_data)
        state = ExportState(**json.loads(path.read_text()))
        if state.with_personal_data != with_personal_data:
            raise StateMismatch(
                f"{self.out} was exported {'with' if state.with_personal_data else 'without'}"
                " personal data; use another directory to export otherwise"
            )
        return state

    def _remove_unrecorded(self) -> None:
        """Files of a flush whose state was never recorded (the run stopped in between)."""
        if not self.out.exists():
            return
        for path in self.out.glob("*/month=*/*"):
            part = _PART.search(path.name)
            if path.name.endswith(".tmp") or (part and int(part.group(1)) > self.state.seq):
                path.unlink()

    def record(
        self, seq: int, offsets: Mapping[tuple[str, int], int], rows: Mapping[str, int]
    ) -> None:
        """Flush `seq`'s files are written: record them and the partitions' next offsets."""
        if seq != self.state.seq + 1:
            raise AssertionError(f"flush {seq} recorded out of order (last {self.state.seq})")
        for dataset, n in rows.items():
            self.state.rows[dataset] = self.state.rows.get(dataset, 0) + n
        self.state.seq = seq
        for (topic, partition), next_offset in offsets.items():
            self.state.offsets[f"{topic}:{partition}"] = next_offset
        self._save()

    def _save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.out / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(self.state.__dict__, indent=2, sort_keys=True) + "\n")
        _fsync(tmp)
        os.replace(tmp, self.out / STATE_FILE)


def write_files(
    out: Path, seq: int, decoded: Decoded, compression: str, *, writer: int = 0
) -> dict[str, int]:
    """Write one flush's rows, a file per dataset and month; rows written per dataset.
    Each worker (`writer`) writes its own files, so two never write the same one."""
    tables = dict(decoded.tables)
    if decoded.unreadable:
        tables[UNREADABLE] = _unreadable_table(decoded)
    rows: dict[str, int] = {}
    files: list[tuple[Path, pa.Table]] = []
    for dataset, table in tables.items():
        by_month = {"unknown": table} if dataset == UNREADABLE else months(table)
        for month, part in by_month.items():
            name = f"part-{seq:08d}-{writer}.parquet"
            files.append((out / dataset / f"month={month}" / name, part))
        rows[dataset] = table.num_rows
    # a file's fsync mostly waits for the disk: several at once wait together
    with ThreadPoolExecutor(_WRITERS) as threads:
        list(threads.map(lambda f: _write(f[0], f[1], compression), files))
    return rows


def _write(path: Path, table: pa.Table, compression: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(
        table,
        tmp,
        compression=compression,
        # zstd packs repeated values as tightly as dictionaries would, and statistics on
        # every column cost more to write than the analyses gain from them: a file's
        # month is in its folder, and its time and offsets keep their statistics
        use_dictionary=False,
        write_statistics=[c for c in _STATISTICS if c in table.column_names],
    )
    _fsync(tmp)
    os.replace(tmp, path)


def _unreadable_table(decoded: Decoded) -> pa.Table:
    u = decoded.unreadable
    return pa.table(
        [
            [x.topic for x in u],
            [x.partition for x in u],
            [x.offset for x in u],
            [x.error for x in u],
        ],
        schema=_UNREADABLE_SCHEMA,
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
