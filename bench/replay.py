"""Replay throughput of the intake service beside raw aiokafka consumption.

    make bench                       # 200,000 events
    BENCH_EVENTS=1000000 make bench  # a million, as Kafka's own perf runs advise

Both figures are measured in the same run over the same topic: the raw rate of an
aiokafka consumer reading every partition from offset 0 (no parsing, no database)
and the rate at which `replay` rebuilds intake's ticket view from those events
(parse, upcast, deduplicate, write to PostgreSQL in batches). The ratio is the
cost of doing the work; group-join time is excluded from both by assigning
partitions directly. Results also go to .local/bench/replay.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from repairline_contracts.envelope import wrap
from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    Product,
    RepairRequested,
    ServiceMode,
)
from repairline_contracts.topics import ALL_TOPICS, INTAKE_EVENTS
from repairline_intake.main import SPEC as INTAKE
from repairline_platform.db import ensure_database
from repairline_platform.kafka import delete_topics, ensure_topics, topic_partitions
from repairline_platform.replay import replay_projection
from repairline_platform.runtime import Runtime
from repairline_platform.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]


def _event(i: int) -> bytes:
    ticket = str(uuid.uuid4())
    event = RepairRequested(
        ticket_id=ticket,
        service_request_no=f"SR{i:09d}",
        repair_order_no=f"RO-BENCH-{i:09d}",
        channel=Channel.HOTLINE,
        region="cn-east",
        city_tier=CityTier.PREFECTURE_CITY,
        service_mode=ServiceMode.ON_SITE,
        customer=Customer(name="Bench", mobile="13900000000", address="1 Bench Road"),
        product=Product(
            line="instant_water_heater",
            model="WH-30",
            serial_no=f"SN{i}",
            purchase_date=date(2025, 1, 1),
        ),
        fault_description="no hot water",
        needs_verification=False,
        requested_at=datetime.now(UTC),
    )
    return wrap(
        event,
        event_id=str(uuid.uuid4()),
        source="/bench",
        time=datetime.now(UTC),
        region="cn-east",
        policy_pack="water-heater",
        policy_version="bench",
        correlation_id=ticket,
        causation_id="bench",
        stream_version=1,
    ).to_bytes()


async def _produce(topic: str, bootstrap: str, n: int) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for i in range(n):
            value = _event(i)
            pending.append(await producer.send(topic, value, key=value[-40:]))
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
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


async def main() -> None:
    n = int(os.environ.get("BENCH_EVENTS", "200000"))
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    settings = ServiceSettings(
        topic_prefix=prefix, database=f"{prefix.rstrip('.')}_intake", clock="simulated"
    )
    bootstrap = settings.kafka_bootstrap
    topics = [prefix + t for t in ALL_TOPICS]
    await ensure_topics(bootstrap, topics, partitions=settings.topic_partitions, replication=1)
    topic = prefix + INTAKE_EVENTS
    try:
        print(f"bench: producing {n} RepairRequested events to {topic} ...", flush=True)
        produce_s = await _produce(topic, bootstrap, n)
        raw_n, raw_s = await _raw_consume(topic, bootstrap, n)

        await ensure_database(settings.pg_dsn, settings.database or "")
        rt = Runtime(INTAKE, settings)
        await rt.open_storage()
        try:
            view = next(h for h in rt.handlers if h.name == "ticket-view")
            stats = await replay_projection(rt, view, force=True)
            rows = await rt.pool.fetchval("select count(*) from ticket_view")
        finally:
            await rt.pool.close()
        assert stats.events == n and rows == n, (stats, rows)

        raw_rate = raw_n / raw_s
        ratio = stats.per_second / raw_rate
        result = {
            "events": n,
            "produce_per_s": round(n / produce_s),
            "raw_aiokafka_consume_per_s": round(raw_rate),
            "raw_seconds": round(raw_s, 2),
            "intake_replay_per_s": round(stats.per_second),
            "replay_seconds": round(stats.seconds, 2),
            "replay_to_raw_ratio": round(ratio, 4),
            "measured_at": datetime.now(UTC).isoformat(),
        }
        print(f"bench: raw aiokafka consumption   {raw_rate:>10,.0f} events/s ({raw_s:.1f} s)")
        print(
            f"bench: intake replay (PostgreSQL)  {stats.per_second:>10,.0f} events/s"
            f" ({stats.seconds:.1f} s)"
        )
        print(f"bench: replay / raw ratio         {ratio:>10.3f}")
        out = ROOT / ".local" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        (out / "replay.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        await delete_topics(bootstrap, topics)
        import asyncpg

        conn = await asyncpg.connect(f"{settings.pg_dsn}/postgres")
        await conn.execute(f'drop database if exists "{settings.database}" with (force)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
