"""`repairline export` over a generated history of every event type on the real broker."""

from __future__ import annotations

import dataclasses
import os
import shutil
import struct
import subprocess
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from repairline_contracts.envelope import Envelope
from repairline_contracts.registry import CURRENT, EVENT_TYPES
from repairline_contracts.topics import FEEDBACK_EVENTS
from repairline_ops.columns import EventColumns, columns_for, dataset_name
from repairline_ops.export import ExportOptions, ExportRefused, ExportSettings, export_log
from repairline_ops.personal import Hasher
from repairline_ops.sample import CST, generate
from repairline_ops.sink import STATE_FILE
from repairline_platform.kafka import delete_topics, ensure_topics
from tests.integration.analytics.conftest import HASH_KEY, PublishedHistory
from tests.support.system import KAFKA, ROOT, produce, read_topic


def rows_of(out: Path, dataset: str) -> list[dict[str, Any]]:
    return ds.dataset(out / dataset, format="parquet", partitioning="hive").to_table().to_pylist()


def as_lists(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: as_lists(v) for k, v in value.items()}
    return value


def expected_data(envelope: Envelope, cols: EventColumns, hasher: Hasher) -> dict[str, Any]:
    """The event's data as the export should hold it: every value, personal ones hashed."""
    event = envelope.event()
    data = as_lists(event.model_dump(mode="python"))
    wire = event.model_dump(mode="json")
    for path in cols.personal:
        *parents, leaf = path
        source, target = wire, data
        for name in parents:
            source, target = source[name], target[name]
            if source is None:
                break
        else:
            if source.get(leaf) is not None:
                target[leaf] = hasher(leaf, source[leaf])
    return data


def personal_values(events: list[Envelope]) -> set[Any]:
    found: set[Any] = set()
    for envelope in events:
        cols = columns_for(CURRENT[envelope.type], hashed=True)
        for path in cols.personal:
            found |= set(_leaves(envelope.data, path))
    return found


def _leaves(node: Any, path: tuple[str, ...]) -> list[Any]:
    if not path:
        if isinstance(node, dict):
            return [v for v in node.values() if v is not None]
        return [] if node is None else [node]
    head, rest = path[0], path[1:]
    if head == "*":
        return [leaf for item in node or () for leaf in _leaves(item, rest)]
    return _leaves(node.get(head), rest) if isinstance(node, dict) else []


async def test_rows_equal_the_topics_records_and_every_value_round_trips(
    history: PublishedHistory, exported: Path
) -> None:
    records = sum(
        [
            len(await read_topic(history.prefix + cls.topic))
            for cls in {c.topic: c for c in EVENT_TYPES}.values()
        ]
    )
    per_type = Counter(e.type for e in history.events)
    assert len(per_type) == len(EVENT_TYPES)  # every type is in the history
    assert records == len(history.events) > 3000

    hasher = Hasher(HASH_KEY.encode())
    exported_rows = 0
    for event_type, count in per_type.items():
        cols = columns_for(CURRENT[event_type], hashed=True)
        rows = {r["ce_id"]: r for r in rows_of(exported, cols.dataset)}
        assert len(rows) == count, event_type
        exported_rows += len(rows)
        for envelope in (e for e in history.events if e.type == event_type):
            row = rows[envelope.id]
            assert row["ce_time"] == envelope.time  # same instant, stored as UTC
            assert row["ce_streamversion"] == envelope.streamversion
            assert row["ce_region"] == envelope.region
            data = {name: row[name] for name in CURRENT[event_type].model_fields}
            assert data == expected_data(envelope, cols, hasher), envelope.id
    assert exported_rows == records


async def test_money_is_integer_fen_and_times_are_utc_timestamps(exported: Path) -> None:
    schema = ds.dataset(exported / "billing_charge_assessed", partitioning="hive").schema
    assert str(schema.field("total_fen").type) == "int64"
    assert str(schema.field("assessed_at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("ce_time").type) == "timestamp[us, tz=UTC]"
    lines = schema.field("lines").type.value_type
    assert str(lines.field("amount_fen").type) == "int64"
    months = {p.parent.name for p in (exported / "billing_charge_assessed").glob("*/*.parquet")}
    assert months >= {"month=2026-09", "month=2026-10", "month=2026-11"}


async def test_no_personal_value_appears_in_any_file(
    history: PublishedHistory, tmp_path: Path
) -> None:
    out = tmp_path / "plain"
    # uncompressed, so a value left in a page would be visible in the bytes
    await export_log(ExportOptions(out, compression="none", progress=False), history.settings())
    values = personal_values(history.events)
    assert any(isinstance(v, str) and v.startswith("Customer Name") for v in values)
    needles = [struct.pack("<d", v) if isinstance(v, float) else str(v).encode() for v in values]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > len(EVENT_TYPES)
    for path in files:
        content = path.read_bytes()
        leaked = [n for n in needles if n in content]
        assert not leaked, (path, leaked[:3])


async def test_the_same_customer_has_the_same_hash_in_every_run(
    history: PublishedHistory, exported: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    await export_log(ExportOptions(again, topics=["intake"], progress=False), history.settings())
    name = dataset_name("repairline.intake.RepairRequested")
    first = {r["ce_id"]: r["customer"] for r in rows_of(exported, name)}
    second = {r["ce_id"]: r["customer"] for r in rows_of(again, name)}
    assert first == second
    assert len({c["mobile"] for c in first.values()}) == len(first)  # one per customer


async def test_an_interrupted_export_resumes_without_writing_a_row_twice(
    history: PublishedHistory, tmp_path: Path
) -> None:
    out = tmp_path / "resumed"
    first = await export_log(
        ExportOptions(out, batch=400, max_records=1500, progress=False), history.settings()
    )
    assert not first.complete and 1500 <= sum(first.records.values()) < len(history.events)
    assert (out / STATE_FILE).exists()
    # a run that died after writing a flush's files but before recording it
    written = sorted(out.glob("*/month=*/*.parquet"))[-1]
    shutil.copy(written, written.with_name("part-99999999.parquet"))

    second = await export_log(ExportOptions(out, batch=400, progress=False), history.settings())
    assert second.complete
    assert sum(first.records.values()) + sum(second.records.values()) == len(history.events)
    ids = [
        r["ce_id"]
        for name in {columns_for(c, hashed=True).dataset for c in EVENT_TYPES}
        for r in rows_of(out, name)
    ]
    assert len(ids) == len(set(ids)) == len(history.events)

    third = await export_log(ExportOptions(out, progress=False), history.settings())
    assert sum(third.records.values()) == 0  # nothing new on the topics


async def test_personal_data_needs_an_authorised_user(
    history: PublishedHistory, tmp_path: Path
) -> None:
    with pytest.raises(ExportRefused, match="may not export personal data"):
        await export_log(
            ExportOptions(tmp_path, with_personal_data=True, progress=False),
            history.settings(),
        )


async def test_the_repairline_command_exports_and_writes_the_duckdb_file(
    history: PublishedHistory, tmp_path: Path
) -> None:
    out, database = tmp_path / "cli", tmp_path / "cli.duckdb"
    env = {
        **os.environ,
        "REPAIRLINE_KAFKA_BOOTSTRAP": KAFKA,
        "REPAIRLINE_TOPIC_PREFIX": history.prefix,
        "REPAIRLINE_EXPORT_HASH_KEY": HASH_KEY,
    }
    command = [str(ROOT / ".venv" / "bin" / "repairline"), "export", str(out)]
    done = subprocess.run(
        [*command, "--topic", "billing", "--duckdb", str(database), "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    billing = sum(1 for e in history.events if e.type.startswith("repairline.billing."))
    assert f"exported {billing} records into {billing} rows" in done.stdout
    assert f"wrote {len(CURRENT) + 1} views" in done.stdout  # one per event type, and tickets
    charges = duckdb.connect(str(database), read_only=True).execute(
        "select count(*) from billing_charge_assessed"
    )
    assert charges.fetchone() == (
        Counter(e.type for e in history.events)["repairline.billing.ChargeAssessed"],
    )

    del env["REPAIRLINE_EXPORT_HASH_KEY"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "REPAIRLINE_EXPORT_HASH_KEY" in refused.stderr


async def test_an_export_from_a_date_or_an_offset(
    history: PublishedHistory, tmp_path: Path
) -> None:
    since = datetime(2026, 10, 1, tzinfo=CST)
    dated = await export_log(
        ExportOptions(tmp_path / "since", topics=["dispatch"], since=since, progress=False),
        history.settings(),
    )
    dispatch = [e for e in history.events if e.type.startswith("repairline.dispatch.")]
    assert sum(dated.rows.values()) == sum(1 for e in dispatch if e.time >= since)
    assert sum(dated.records.values()) == len(dispatch)  # read all, kept the later ones

    records = await read_topic(history.prefix + "repairline.feedback.events")
    from_offset = await export_log(
        ExportOptions(tmp_path / "offset", topics=["feedback"], from_offset=20, progress=False),
        history.settings(),
    )
    assert sum(from_offset.rows.values()) == sum(1 for r in records if r.offset >= 20)


async def test_records_removed_by_retention_before_a_resumed_run_are_counted_not_fatal(
    tmp_path: Path,
) -> None:
    topic = f"t{uuid.uuid4().hex[:10]}.repairline.feedback.events"
    await ensure_topics(KAFKA, [topic], partitions=1, replication=1)
    try:
        events = [
            e
            for e in generate(tickets=12, extras_per_type=2)
            if CURRENT[e.type].topic == FEEDBACK_EVENTS
        ]
        await produce(topic, [(e.subject.encode(), e.to_bytes()) for e in events])
        settings = ExportSettings(kafka_bootstrap=KAFKA, export_hash_key=HASH_KEY)
        options = ExportOptions(tmp_path / "out", topics=[topic], batch=5, progress=False)
        first = await export_log(dataclasses.replace(options, max_records=10), settings)
        assert sum(first.records.values()) == 10 and not first.complete
        # retention removes records the first run did not reach
        admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
        await admin.start()
        try:
            await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(25)})
        finally:
            await admin.close()

        second = await export_log(options, settings)
        assert second.complete and second.skipped == 15
        assert sum(second.records.values()) == sum(second.rows.values()) == len(events) - 25
        kept = events[:10] + events[25:]
        ids = [
            r["ce_id"]
            for name in {dataset_name(e.type) for e in kept}
            for r in rows_of(tmp_path / "out", name)
        ]
        assert sorted(ids) == sorted(e.id for e in kept)
    finally:
        await delete_topics(KAFKA, [topic])
