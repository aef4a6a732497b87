"""A consumer's offsets in Kafka: a hint for Kafka's tools, committed once per interval
rather than after every batch, on the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from repairline_contracts.topics import INTAKE_EVENTS
from repairline_platform.consumer import KafkaOffsetsHint
from tests.support.infra import KAFKA, eventually

EVERY = 0.3  # seconds between commits in these tests (the services: one second)


@pytest.fixture
async def consumer(prefix: str) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=KAFKA, group_id=f"{prefix}hint", enable_auto_commit=False
    )
    await consumer.start()
    yield consumer
    await consumer.stop()


async def read(consumer: AIOKafkaConsumer, tp: TopicPartition, n: int) -> list:
    """`n` records written to one partition, as the consumer reads them."""
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
    await producer.start()
    try:
        for _ in range(n):
            await producer.send_and_wait(tp.topic, b"{}", partition=tp.partition)
    finally:
        await producer.stop()
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    records: list = []
    while len(records) < n:
        fetched = await consumer.getmany(tp, timeout_ms=1000)
        records += fetched.get(tp, [])
    return records


@pytest.fixture
def tp(prefix: str) -> TopicPartition:
    return TopicPartition(prefix + INTAKE_EVENTS, 0)


@pytest.fixture
def hint(consumer: AIOKafkaConsumer) -> Iterator[KafkaOffsetsHint]:
    hint = KafkaOffsetsHint(lambda: consumer, EVERY)
    yield hint
    hint.stop()


async def test_batches_applied_in_a_row_are_committed_to_kafka_once_at_their_last_offset(
    consumer: AIOKafkaConsumer, tp: TopicPartition, hint: KafkaOffsetsHint
):
    records = await read(consumer, tp, 5)

    for record in records:  # five batches of one record, applied one after the other
        hint.applied([record])
    assert await consumer.committed(tp) is None  # not at once, in the consumer's loop

    assert await eventually(lambda: _committed(consumer, tp, records[-1].offset + 1))
    assert hint.commits == 1

    hint.applied(records[:2])  # an earlier batch again (a redelivery): nothing moves back
    assert hint.idle and hint.commits == 1
    hint.applied([*records[:2], _at(tp, records[-1].offset + 1)])  # and one further on
    assert await eventually(lambda: _committed(consumer, tp, records[-1].offset + 2))
    assert hint.commits == 2


async def test_a_partition_the_consumer_no_longer_has_is_left_to_its_new_member(
    consumer: AIOKafkaConsumer, tp: TopicPartition, hint: KafkaOffsetsHint
):
    records = await read(consumer, tp, 2)
    moved = TopicPartition(tp.topic, 1)  # not assigned to this consumer (any more)

    hint.applied([*records, _at(moved, 7)])

    assert await eventually(lambda: _committed(consumer, tp, records[-1].offset + 1))
    assert await consumer.committed(moved) is None
    assert hint.commits == 1


async def test_a_commit_the_broker_refuses_is_dropped_and_the_next_carries_on(
    consumer: AIOKafkaConsumer, tp: TopicPartition
):
    records = await read(consumer, tp, 2)
    absent = TopicPartition(tp.topic, 999)  # assigned, but the topic has no such partition
    consumer.assign([tp, absent])
    hint = KafkaOffsetsHint(lambda: consumer, EVERY, timeout=1.0)

    hint.applied([_at(absent, 3)])  # refused, and retried by aiokafka until given up
    await eventually(lambda: _idle(hint))
    assert hint.commits == 0

    hint.applied(records)
    assert await eventually(lambda: _committed(consumer, tp, records[-1].offset + 1))
    assert hint.commits == 1
    hint.stop()


class _at:
    def __init__(self, tp: TopicPartition, offset: int) -> None:
        self.topic, self.partition, self.offset = tp.topic, tp.partition, offset


async def _committed(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> bool:
    return await consumer.committed(tp) == offset


async def _idle(hint: KafkaOffsetsHint) -> bool:
    return hint.idle
