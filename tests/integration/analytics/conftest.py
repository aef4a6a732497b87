"""A generated history of every event type, published once to a namespace of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from repairline_contracts.envelope import Envelope
from repairline_contracts.registry import CURRENT
from repairline_contracts.topics import ALL_TOPICS
from repairline_ops.export import ExportOptions, ExportSettings, export_log
from repairline_ops.sample import generate
from repairline_platform.kafka import delete_topics, ensure_topics
from tests.support.system import KAFKA, produce

HASH_KEY = "analytics-test-key-0123456789"


@dataclass(frozen=True)
class PublishedHistory:
    prefix: str
    events: list[Envelope]

    def settings(self) -> ExportSettings:
        return ExportSettings(
            kafka_bootstrap=KAFKA, topic_prefix=self.prefix, export_hash_key=HASH_KEY
        )


@pytest.fixture(scope="module")
async def history() -> AsyncIterator[PublishedHistory]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    topics = [prefix + t for t in ALL_TOPICS]
    await ensure_topics(KAFKA, topics, partitions=6, replication=1)
    events = generate(tickets=600, extras_per_type=25)
    by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
    for envelope in events:
        topic = prefix + CURRENT[envelope.type].topic
        by_topic.setdefault(topic, []).append((envelope.subject.encode(), envelope.to_bytes()))
    for topic, messages in by_topic.items():
        await produce(topic, messages)
    yield PublishedHistory(prefix, events)
    await delete_topics(KAFKA, topics)


@pytest.fixture(scope="module")
async def exported(history: PublishedHistory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole history exported once, with the views' DuckDB file beside it."""
    out = tmp_path_factory.mktemp("export")
    await export_log(ExportOptions(out, progress=False), history.settings())
    return out
