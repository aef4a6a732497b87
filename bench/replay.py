"""Replay of every projection of every service beside raw aiokafka consumption.

    make bench                       # 200,000 events (and 20,000 for the linearity check)
    BENCH_EVENTS=1000000 make bench  # a million, as Kafka's own perf runs advise

A generated history of every event type (`repairline_ops.sample`) is copied, with fresh
event and ticket ids, until it holds BENCH_EVENTS events on the four topics; a second
set of topics holds a tenth of them. From the same run: the raw rate of an aiokafka
consumer reading every partition of the four topics from offset 0 (no parsing, no
database), and for every projection of every service the rate at which `replay`
rebuilds it (records of its topics read per second of its replay). A projection's
ratio is its rate over the raw rate; `ratio` is the slowest projection's. The replays
run in a process of their own, so its peak RSS is the replaying process's. Linearity:
the full history must take at most 11x the time of the tenth. Group-join time is
excluded everywhere by assigning partitions directly. Results also go to
.local/bench/replay.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from repairline_contracts.dispatch import DayPlanProposed
from repairline_contracts.envelope import Envelope
from repairline_contracts.registry import CURRENT
from repairline_contracts.topics import ALL_TOPICS, CONTEXT_TOPICS
from repairline_platform.kafka import delete_topics, ensure_topics, topic_partitions
from repairline_platform.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "dispatch", "billing", "feedback")
LINEAR_LIMIT = 11.0  # ten times the events in at most eleven times the time


def _history() -> list[tuple[str, bytes, bytes]]:
    from repairline_ops.sample import generate

    return [
        (CURRENT[e.type].topic, e.subject.encode(), _plausible(e).to_bytes()) for e in generate()
    ]


def _plausible(envelope: Envelope) -> Envelope:
    """The generator draws a day plan's `date` as any text (the schema says only `str`);
    dispatch refuses such a plan (dead-lettered, a batch applied item by item), which a
    real history does not hold by the thousand: the plan's day is the day it was made."""
    if envelope.type != DayPlanProposed.event_type:
        return envelope
    data = {**envelope.data, "date": envelope.time.date().isoformat()}
    return envelope.model_copy(update={"data": data})


async def _produce(prefix: str, bootstrap: str, n: int, history: list[Any]) -> float:
    """Copies of one generated history, each with its own event and ticket ids."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    started = time.perf_counter()
    sent = 0
    try:
        while sent < n:
            copy = f"c{sent}-".encode()
            pending = []
            for topic, subject, value in history[: n - sent]:
                value = value.replace(b'"ev-', b'"' + copy + b"ev-").replace(
                    b'"ticket-', b'"' + copy + b"ticket-"
                )
                pending.append(await producer.send(prefix + topic, value, key=copy + subject))
            sent += len(pending)
            await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def _raw_consume(topic: str | list[str], bootstrap: str, expected: int) -> tuple[int, float]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = await topic_partitions(bootstrap, [topic] if isinstance(topic, str) else topic)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        count = 0
        started = time.perf_counter()
        while count < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
            count += sum(len(rs) for rs in batch.values())
            if all([await consumer.position(tp) >= end[tp] for tp in tps]):
                break
        return count, time.perf_counter() - started
    finally:
        await consumer.stop()


def _settings(prefix: str, service: str) -> ServiceSettings:
    return ServiceSettings(
        topic_prefix=prefix, database=f"{prefix.rstrip('.')}_{service}", clock="simulated"
    )


async def _replay_service(prefix: str, service: str) -> list[dict[str, Any]]:
    """Every projection of one service, rebuilt one after the other."""
    from repairline_platform.replay import replay_projection
    from repairline_platform.runtime import Runtime, is_projection

    module = __import__(f"repairline_{service}.main", fromlist=["SPEC"])
    rt = Runtime(module.SPEC, _settings(prefix, service))
    await rt.open_storage()
    out = []
    try:
        for handler in [h for h in rt.handlers if is_projection(h)]:
            stats = await replay_projection(rt, handler, force=True)
            out.append(
                {
                    "projection": stats.projection,
                    "events": stats.events,
                    "applied": stats.applied,
                    "seconds": round(stats.seconds, 3),
                    "per_s": round(stats.per_second),
                }
            )
            print(
                f"bench:   {stats.projection:<28} {stats.per_second:>9,.0f} events/s"
                f" ({stats.events} in {stats.seconds:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    finally:
        await rt.pool.close()
    return out


async def _replay_every_service(prefix: str) -> None:
    """The child process: every projection of every service, as JSON on stdout."""
    results = [p for service in SERVICES for p in await _replay_service(prefix, service)]
    print(json.dumps(results))


def _replay_in_a_process(prefix: str) -> tuple[list[dict[str, Any]], int]:
    """The replays and the peak RSS (bytes) of the process that ran them."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.replay", "--replay", prefix],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(done.stdout.strip().splitlines()[-1]), peak_kib * 1024


async def _drop(prefix: str) -> None:
    settings = _settings(prefix, "intake")
    conn = await asyncpg.connect(f"{settings.pg_dsn}/postgres")
    try:
        for service in SERVICES:
            database = _settings(prefix, service).database
            await conn.execute(f'drop database if exists "{database}" with (force)')
    finally:
        await conn.close()


async def _prepare(prefix: str, n: int, history: list[Any]) -> list[str]:
    bootstrap = _settings(prefix, "intake").kafka_bootstrap
    topics = [prefix + t for t in ALL_TOPICS]
    await ensure_topics(bootstrap, topics, partitions=6, replication=1)
    print(f"bench: producing {n} events of every type to {prefix}* ...", flush=True)
    await _produce(prefix, bootstrap, n, history)
    return topics


def _summary(
    n: int,
    raw: tuple[int, float],
    full: list[dict[str, Any]],
    tenth: list[dict[str, Any]],
    peak_rss: int,
) -> dict[str, Any]:
    raw_rate = raw[0] / raw[1]
    for p in full:
        p["ratio"] = round(p["per_s"] / raw_rate, 4)
    slowest = min(full, key=lambda p: p["ratio"])
    seconds = sum(p["seconds"] for p in full)
    tenth_seconds = sum(p["seconds"] for p in tenth)
    return {
        "events": n,
        "ratio": slowest["ratio"],
        "slowest_projection": slowest["projection"],
        "raw_aiokafka_consume_per_s": round(raw_rate),
        "raw_seconds": round(raw[1], 2),
        "replay_per_s": slowest["per_s"],
        "replay_seconds": round(seconds, 2),
        "tenth_events": n // 10,
        "tenth_replay_seconds": round(tenth_seconds, 2),
        "linear_factor": round(seconds / tenth_seconds, 2) if tenth_seconds else None,
        "linear": bool(tenth_seconds) and seconds <= LINEAR_LIMIT * tenth_seconds,
        "peak_rss_bytes": peak_rss,
        "projections": full,
        "measured_at": datetime.now(UTC).isoformat(),
        "load_average_1m": os.getloadavg()[0],
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"bench: raw aiokafka consumption   {result['raw_aiokafka_consume_per_s']:>10,} events/s"
        f" ({result['raw_seconds']} s)"
    )
    for p in sorted(result["projections"], key=lambda p: p["ratio"]):
        print(f"bench: {p['projection']:<30} {p['per_s']:>10,} events/s  ratio {p['ratio']:.3f}")
    print(
        f"bench: slowest / raw ratio        {result['ratio']:>10.3f}"
        f" ({result['slowest_projection']})"
    )
    print(
        f"bench: every projection {result['replay_seconds']} s for {result['events']} events,"
        f" {result['tenth_replay_seconds']} s for {result['tenth_events']}"
        f" (x{result['linear_factor']}); peak RSS {result['peak_rss_bytes'] / 2**20:.0f} MiB"
    )


async def main() -> None:
    n = int(os.environ.get("BENCH_EVENTS", "200000"))
    run = uuid.uuid4().hex[:8]
    full, tenth = f"bench{run}.", f"bench{run}t."
    history = _history()
    topics: list[str] = []
    try:
        topics += await _prepare(tenth, n // 10, history)
        topics += await _prepare(full, n, history)
        bootstrap = _settings(full, "intake").kafka_bootstrap
        raw = await _raw_consume([full + t for t in CONTEXT_TOPICS.values()], bootstrap, n)
        assert raw[0] == n, raw
        print("bench: replaying every projection (a tenth of the events) ...", flush=True)
        tenth_stats, _ = _replay_in_a_process(tenth)
        print("bench: replaying every projection ...", flush=True)
        full_stats, peak_rss = _replay_in_a_process(full)
        result = _summary(n, raw, full_stats, tenth_stats, peak_rss)
        _print(result)
        out = ROOT / ".local" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        (out / "replay.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        await delete_topics(_settings(full, "intake").kafka_bootstrap, topics)
        await _drop(full)
        await _drop(tenth)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--replay"]:
        uvloop.run(_replay_every_service(sys.argv[2]))
    else:
        uvloop.run(main())
