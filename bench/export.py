"""Export throughput beside raw aiokafka consumption of the same topics.

    make bench                       # 200,000 events
    BENCH_EVENTS=1000000 make bench

A generated history of every event type (about one event in four carries personal
fields and is hashed) is copied, with fresh ids, until it holds BENCH_EVENTS events on
the four topics. From the same run: the raw rate of an aiokafka consumer reading every
partition from offset 0 (no parsing) and the rate of `repairline export` (parse, type,
hash, write Parquet per event type and month, record its offsets). Goal: export at
least half the raw rate. The CPU time per event is reported too (raw reading; the
export's reading process and its workers' decoding and writing): on a shared machine
the wall-clock ratio mostly says how busy the other processes are. Results also go to
.local/bench/export.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.replay import _raw_consume
from repairline_contracts.registry import CURRENT
from repairline_contracts.topics import ALL_TOPICS, CONTEXT_TOPICS
from repairline_ops.export import ExportOptions, ExportSettings, export_log
from repairline_ops.sample import generate
from repairline_platform.kafka import delete_topics, ensure_topics

ROOT = Path(__file__).resolve().parents[1]


async def _produce(prefix: str, bootstrap: str, n: int) -> int:
    """Copies of one generated history, each with its own event and ticket ids."""
    history = [(prefix + CURRENT[e.type].topic, e.subject, e.to_bytes()) for e in generate()]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=20,
        max_batch_size=512 * 1024,
    )  # fmt: skip
    await producer.start()
    sent = 0
    try:
        pending = []
        while sent < n:
            copy = f"c{sent}-".encode()
            for topic, subject, value in history[: n - sent]:
                value = value.replace(b'"ev-', b'"' + copy + b"ev-").replace(
                    b'"ticket-', b'"' + copy + b"ticket-"
                )
                pending.append(await producer.send(topic, value, key=copy + subject.encode()))
            sent += min(len(history), n - sent)
            await asyncio.gather(*pending)
            pending.clear()
    finally:
        await producer.stop()
    return sent


def _cpu_seconds() -> float:
    """CPU time of this process (its threads included)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


async def main() -> None:
    n = int(os.environ.get("BENCH_EVENTS", "200000"))
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    settings = ExportSettings(topic_prefix=prefix, export_hash_key="bench-hash-key-0123456789")
    bootstrap = settings.kafka_bootstrap
    topics = [prefix + t for t in ALL_TOPICS]
    await ensure_topics(bootstrap, topics, partitions=6, replication=1)
    out = ROOT / ".local" / "bench" / f"export-{prefix.rstrip('.')}"
    try:
        print(f"bench: producing {n} events of every type to {prefix}* ...", flush=True)
        await _produce(prefix, bootstrap, n)
        event_topics = [prefix + t for t in CONTEXT_TOPICS.values()]
        raw_cpu = _cpu_seconds()
        raw_n, raw_s = await _raw_consume(event_topics, bootstrap, n)
        raw_cpu = _cpu_seconds() - raw_cpu
        export_cpu = _cpu_seconds()
        report = await export_log(ExportOptions(out, progress=False), settings)
        export_cpu = _cpu_seconds() - export_cpu
        exported = sum(report.records.values())
        rows = sum(report.rows.values())
        assert exported == raw_n == n and rows == n and report.unreadable == 0, report
        raw_rate = raw_n / raw_s
        ratio = report.per_second / raw_rate
        result = {
            "events": n,
            "raw_aiokafka_consume_per_s": round(raw_rate),
            "raw_seconds": round(raw_s, 2),
            "export_per_s": round(report.per_second),
            "export_seconds": round(report.seconds, 2),
            "export_to_raw_ratio": round(ratio, 4),
            "export_workers": ExportOptions(out).workers,
            "raw_cpu_us_per_event": round(raw_cpu / n * 1e6, 1),
            "export_reader_cpu_us_per_event": round(export_cpu / n * 1e6, 1),
            "export_workers_cpu_us_per_event": round(report.worker_cpu_seconds / n * 1e6, 1),
            "load_average_1m": os.getloadavg()[0],
            "parquet_bytes": sum(p.stat().st_size for p in out.rglob("*.parquet")),
            "measured_at": datetime.now(UTC).isoformat(),
        }
        print(f"bench: raw aiokafka consumption   {raw_rate:>10,.0f} events/s ({raw_s:.1f} s)")
        print(
            f"bench: export (Parquet, hashed)  {report.per_second:>10,.0f} events/s"
            f" ({report.seconds:.1f} s)"
        )
        print(f"bench: export / raw ratio         {ratio:>10.3f}  (goal: at least 0.5)")
        print(
            f"bench: CPU per event: raw {result['raw_cpu_us_per_event']} us; export"
            f" {result['export_reader_cpu_us_per_event']} us reading"
            f" + {result['export_workers_cpu_us_per_event']} us in the workers;"
            f" load average {result['load_average_1m']:.1f}"
        )
        (ROOT / ".local" / "bench" / "export.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        shutil.rmtree(out, ignore_errors=True)
        await delete_topics(bootstrap, topics)


if __name__ == "__main__":
    asyncio.run(main())
