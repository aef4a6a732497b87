"""Export throughput beside raw aiokafka consumption of the same topics.

    make bench                       # 200,000 events, three runs
    BENCH_EVENTS=1000000 BENCH_RUNS=5 make bench

A generated history of every event type (about one event in four carries personal
fields and is hashed) is copied, with fresh ids, until it holds BENCH_EVENTS events on
the four topics. From the same run: the raw rate of an aiokafka consumer reading every
partition from offset 0 (no parsing) and the rate of `repairline export` (parse, type,
hash, write Parquet per event type and month, record its offsets). Goal: export at
least half the raw rate. Raw reading and the export take turns, several times
(BENCH_RUNS), the order alternating, since on a shared machine the load from other
processes drifts; every run is reported, with the CPU time per event (raw reading; the
export's reading process and its workers' decoding and writing). Results also go to
.local/bench/export.json (or the file named by BENCH_RESULT there).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop
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


def _files(out: Path) -> tuple[int, int]:
    sizes = [p.stat().st_size for p in out.rglob("*.parquet")]
    return len(sizes), sum(sizes)


async def _pair(
    run: int, prefix: str, settings: ExportSettings, n: int, out: Path
) -> dict[str, Any]:
    """One raw read and one export of the same topics, the order alternating by run (the
    load from other processes drifts)."""
    bootstrap = settings.kafka_bootstrap
    event_topics = [prefix + t for t in CONTEXT_TOPICS.values()]
    result: dict[str, Any] = {"run": run, "raw_first": run % 2 == 1}
    for step in ("raw", "export") if result["raw_first"] else ("export", "raw"):
        cpu = _cpu_seconds()
        load = os.getloadavg()[0]
        if step == "raw":
            raw_n, raw_s = await _raw_consume(event_topics, bootstrap, n)
            assert raw_n == n, raw_n
            result["raw_aiokafka_consume_per_s"] = round(n / raw_s)
            result["raw_seconds"] = round(raw_s, 2)
            result["raw_cpu_us_per_event"] = round((_cpu_seconds() - cpu) / n * 1e6, 1)
            result["load_average_1m_before_raw"] = load
            continue
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        report = await export_log(ExportOptions(out, progress=False), settings)
        # the rate counts from the first read; starting the worker processes comes before
        result["export_seconds_with_start"] = round(time.perf_counter() - started, 2)
        assert sum(report.records.values()) == sum(report.rows.values()) == n, report
        assert report.unreadable == 0, report
        result["export_per_s"] = round(report.per_second)
        result["export_seconds"] = round(report.seconds, 2)
        result["export_reader_cpu_us_per_event"] = round((_cpu_seconds() - cpu) / n * 1e6, 1)
        result["export_workers_cpu_us_per_event"] = round(report.worker_cpu_seconds / n * 1e6, 1)
        result["load_average_1m_before_export"] = load
        result["parquet_files"], result["parquet_bytes"] = _files(out)
    result["export_to_raw_ratio"] = round(
        result["export_per_s"] / result["raw_aiokafka_consume_per_s"], 4
    )
    print(
        f"bench: run {run}: raw {result['raw_aiokafka_consume_per_s']:>8,}/s"
        f" ({result['raw_seconds']} s), export {result['export_per_s']:>8,}/s"
        f" ({result['export_seconds']} s), ratio {result['export_to_raw_ratio']:.3f};"
        f" CPU per event: raw {result['raw_cpu_us_per_event']} us, export"
        f" {result['export_reader_cpu_us_per_event']} us reading"
        f" + {result['export_workers_cpu_us_per_event']} us in the workers;"
        f" load {result['load_average_1m_before_raw']:.1f}",
        flush=True,
    )
    return result


async def main() -> None:
    n = int(os.environ.get("BENCH_EVENTS", "200000"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    settings = ExportSettings(topic_prefix=prefix, export_hash_key="bench-hash-key-0123456789")
    bootstrap = settings.kafka_bootstrap
    topics = [prefix + t for t in ALL_TOPICS]
    await ensure_topics(bootstrap, topics, partitions=6, replication=1)
    out = ROOT / ".local" / "bench" / f"export-{prefix.rstrip('.')}"
    try:
        print(f"bench: producing {n} events of every type to {prefix}* ...", flush=True)
        await _produce(prefix, bootstrap, n)
        results = [await _pair(run, prefix, settings, n, out) for run in range(1, runs + 1)]
        ratios = sorted(r["export_to_raw_ratio"] for r in results)
        summary = {
            "events": n,
            "export_workers": ExportOptions(out).workers,
            "export_batch": ExportOptions(out).batch,
            "median_export_to_raw_ratio": ratios[len(ratios) // 2],
            "runs": results,
            "measured_at": datetime.now(UTC).isoformat(),
        }
        print(
            f"bench: export / raw ratio, median of {runs} runs:"
            f" {summary['median_export_to_raw_ratio']:.3f} (goal: at least 0.5;"
            f" all runs: {', '.join(f'{r:.3f}' for r in ratios)})"
        )
        result_file = ROOT / ".local" / "bench" / os.environ.get("BENCH_RESULT", "export.json")
        result_file.write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        shutil.rmtree(out, ignore_errors=True)
        await delete_topics(bootstrap, topics)


if __name__ == "__main__":
    uvloop.run(main())
