from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from repairline_contracts.topics import ALL_TOPICS
from repairline_platform.kafka import delete_topics, ensure_topics
from tests.support.infra import KAFKA


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A topic namespace of this test's own, removed afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}."
    topics = [name + t for t in ALL_TOPICS]
    await ensure_topics(KAFKA, topics, partitions=6, replication=1)
    yield name
    await delete_topics(KAFKA, topics)
