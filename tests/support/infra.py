"""Helpers for tests that talk to the real broker and database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from repairline_contracts.base import Event
from repairline_contracts.envelope import wrap
from repairline_platform.kafka import topic_partitions

ROOT = Path(__file__).resolve().parents[2]
KAFKA = os.environ.get("REPAIRLINE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PG = os.environ.get("REPAIRLINE_PG_DSN", "postgresql://repairline@127.0.0.1:15432")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 30.0, interval: float = 0.1
) -> Any:
    """Poll until `check` returns a truthy value (propagation through Kafka, not business time)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def envelope_bytes(
    event: Event,
    *,
    region: str = "cn-east",
    event_id: str | None = None,
    at: datetime | None = None,
) -> bytes:
    return wrap(
        event,
        event_id=event_id or str(uuid.uuid4()),
        source="/tests",
        time=at or datetime.now(UTC),
        region=region,
        policy_pack="water-heater",
        policy_version="test",
        correlation_id=str(uuid.uuid4()),
        causation_id="test",
        stream_version=1,
    ).to_bytes()


async def produce(topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_topic(topic: str, *, timeout_ms: int = 2000) -> list[Any]:
    """Every record on the topic right now, from offset 0."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await topic_partitions(KAFKA, [topic])
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records: list[Any] = []
        while any([await consumer.position(tp) < end[tp] for tp in tps]):
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            for rs in batch.values():
                records.extend(rs)
        return records
    finally:
        await consumer.stop()


async def connect(database: str) -> asyncpg.Connection:
    return await asyncpg.connect(f"{PG}/{database}")


async def drop_database(database: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(f'drop database if exists "{database}" with (force)')
    finally:
        await conn.close()


class ServiceProcess:
    """One service as its own OS process, as it runs in production."""

    def __init__(
        self, name: str, *, prefix: str, database: str, extra_env: dict[str, str] | None = None
    ):
        self.name = name
        self.port = free_port()
        self.database = database
        self.log_path = ROOT / ".local" / "test-logs" / f"{prefix.rstrip('.')}-{name}.log"
        self.env = {
            **os.environ,
            "REPAIRLINE_KAFKA_BOOTSTRAP": KAFKA,
            "REPAIRLINE_PG_DSN": PG,
            "REPAIRLINE_TOPIC_PREFIX": prefix,
            "REPAIRLINE_DATABASE": database,
            "REPAIRLINE_HTTP_PORT": str(self.port),
            "REPAIRLINE_CLOCK": "simulated",
            "REPAIRLINE_LOG_FORMAT": "json",
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60.0) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / f"repairline-{self.name}"), "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                status, _ = self.request("GET", "/readyz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} not ready in {timeout}s: {self.log_path.read_text()[-3000:]}"
        )

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")
