"""Topic administration."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


async def ensure_topics(
    bootstrap: str, names: Iterable[str], *, partitions: int, replication: int
) -> list[str]:
    """Create the topics that do not exist yet (unlimited retention); returns those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="repairline-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            num_partitions=partitions,
                            replication_factor=replication,
                            topic_configs={"retention.ms": "-1", "retention.bytes": "-1"},
                        )
                        for name in missing
                    ]
                )
        return missing
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, names: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="repairline-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, names: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the given topics, from the broker's metadata."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="repairline-admin")
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"])
        for t in described
        for p in t.get("partitions", [])
    )
