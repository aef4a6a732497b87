"""Measure the figures the sizing model in docs/operations.md is built on.

    .venv/bin/python -m deploy.sizing [--tickets 200]

Runs the four services as processes against the local Kafka and PostgreSQL (own topic
prefix, own databases, removed afterwards), takes tickets through the common life (the
request, assignment, arrival, completion, the next-morning callback) and reports: events
and bytes per ticket on each topic, database growth and rows per ticket per service,
each service's CPU seconds per ticket and resident memory. Results go to
.local/ops/sizing.json.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer

from repairline_contracts.topics import ALL_TOPICS
from repairline_platform.kafka import delete_topics, ensure_topics, topic_partitions

ROOT = Path(__file__).resolve().parents[1]
KAFKA = os.environ.get("REPAIRLINE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PG = os.environ.get("REPAIRLINE_PG_DSN", "postgresql://repairline@127.0.0.1:15432")
SERVICES = ("intake", "dispatch", "billing", "feedback")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


class Service:
    def __init__(self, name: str, prefix: str, logs: Path) -> None:
        self.name = name
        self.database = f"{prefix.rstrip('.')}_{name}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "REPAIRLINE_KAFKA_BOOTSTRAP": KAFKA,
            "REPAIRLINE_PG_DSN": PG,
            "REPAIRLINE_TOPIC_PREFIX": prefix,
            "REPAIRLINE_DATABASE": self.database,
            "REPAIRLINE_HTTP_PORT": str(self.port),
            "REPAIRLINE_CLOCK": "simulated",
        }
        log = (logs / f"{name}.log").open("ab")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / f"repairline-{name}"), "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if call(self.url + "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):  # peak resident set
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def topic_figures(prefix: str) -> dict[str, dict[str, int]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
    await consumer.start()
    figures = {}
    try:
        for topic in ALL_TOPICS:
            tps = await topic_partitions(KAFKA, [prefix + topic])
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            events = value_bytes = key_bytes = 0
            while any([await consumer.position(tp) < end[tp] for tp in tps]):
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    for r in records:
                        events += 1
                        value_bytes += len(r.value or b"")
                        key_bytes += len(r.key or b"")
            figures[topic] = {"events": events, "value_bytes": value_bytes, "key_bytes": key_bytes}
    finally:
        await consumer.stop()
    return figures


async def database_figures(database: str) -> dict[str, Any]:
    conn = await asyncpg.connect(f"{PG}/{database}")
    try:
        await conn.execute("vacuum analyze")
        size = await conn.fetchval("select pg_database_size(current_database())")
        tables = {}
        for row in await conn.fetch(
            "select relname, pg_total_relation_size(relid) as bytes from pg_stat_user_tables"
        ):
            rows = await conn.fetchval(f'select count(*) from "{row["relname"]}"')
            tables[row["relname"]] = {"rows": rows, "bytes": row["bytes"]}
        return {"bytes": size, "tables": tables}
    finally:
        await conn.close()


async def drop_database(database: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(f'drop database if exists "{database}" with (force)')
    finally:
        await conn.close()


def ticket_body(i: int) -> dict[str, Any]:
    return {
        "channel": "hotline",
        "region": "cn-east",
        "city_tier": "provincial_capital",
        "service_mode": "on_site",
        "customer": {"name": "Sizing", "mobile": "+86 139 0000 0000", "address": "1 Road"},
        "product": {
            "line": "instant_water_heater",
            "model": "WH-30",
            "serial_no": f"SZ{i:08d}",
            "purchase_date": "2026-06-01",
        },
        "fault_description": "No hot water; error E3",
        "customer_wants": "repair",
    }


def wait_until(check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise RuntimeError("condition not met")


def run_tickets(services: dict[str, Service], n: int) -> list[str]:
    intake, dispatch = services["intake"].url, services["dispatch"].url
    for e in range(max(n // 4, 4)):
        call(
            f"{dispatch}/engineers/eng-sz-{e:03d}",
            "PUT",
            {"name": f"Engineer {e}", "region": "cn-east", "skills": ["instant_water_heater"]},
        )
    tickets = []
    for i in range(n):
        status, body = call(f"{intake}/tickets", "POST", ticket_body(i))
        if status in (200, 201):
            tickets.append(body["ticket_id"])

    def assigned() -> bool:
        return all(call(f"{intake}/tickets/{t}")[1].get("status") != "requested" for t in tickets)

    wait_until(assigned)
    for t in tickets:
        call(f"{dispatch}/tickets/{t}/arrival", "POST", {})
        call(f"{dispatch}/tickets/{t}/completion", "POST", {"resolution": "replaced the part"})
    time.sleep(5)
    for service in services.values():
        call(f"{service.url}/admin/clock/advance", "POST", {"days": 2})
    time.sleep(10)
    return tickets


async def measure(n: int) -> dict[str, Any]:
    prefix = f"sizing{uuid.uuid4().hex[:8]}."
    logs = ROOT / ".local" / "ops" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    await ensure_topics(KAFKA, [prefix + t for t in ALL_TOPICS], partitions=6, replication=1)
    services = {name: Service(name, prefix, logs) for name in SERVICES}
    try:
        for service in services.values():
            service.wait_ready()
        empty = {s.name: await database_figures(s.database) for s in services.values()}
        cpu_before = {s.name: s.cpu_seconds() for s in services.values()}
        started = time.monotonic()
        tickets = run_tickets(services, n)
        elapsed = time.monotonic() - started
        cpu = {s.name: s.cpu_seconds() - cpu_before[s.name] for s in services.values()}
        rss = {s.name: s.rss_bytes() for s in services.values()}
        full = {s.name: await database_figures(s.database) for s in services.values()}
        topics = await topic_figures(prefix)
    finally:
        for service in services.values():
            service.stop()
        for service in services.values():
            await drop_database(service.database)
        await delete_topics(KAFKA, [prefix + t for t in ALL_TOPICS])
    return summarise(len(tickets), elapsed, topics, empty, full, cpu, rss)


def summarise(n, elapsed, topics, empty, full, cpu, rss) -> dict[str, Any]:
    per_topic = {
        t: {
            "events_per_ticket": round(f["events"] / n, 2),
            "bytes_per_event": round((f["value_bytes"] + f["key_bytes"]) / max(f["events"], 1)),
        }
        for t, f in topics.items()
    }
    databases = {}
    for name in SERVICES:
        growth = full[name]["bytes"] - empty[name]["bytes"]
        rows = {
            table: round(v["rows"] / n, 2) for table, v in full[name]["tables"].items() if v["rows"]
        }
        databases[name] = {
            "bytes_per_ticket": round(growth / n),
            "rows_per_ticket": rows,
            "cpu_ms_per_ticket": round(1000 * cpu[name] / n, 1),
            "peak_rss_mib": round(rss[name] / 2**20),
        }
    events = sum(f["events"] for f in topics.values())
    return {
        "tickets": n,
        "seconds": round(elapsed, 1),
        "events_per_ticket": round(events / n, 2),
        "bytes_per_event": round(
            sum(f["value_bytes"] + f["key_bytes"] for f in topics.values()) / max(events, 1)
        ),
        "topics": per_topic,
        "services": databases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.sizing")
    parser.add_argument("--tickets", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(measure(args.tickets))
    out = ROOT / ".local" / "ops"
    out.mkdir(parents=True, exist_ok=True)
    (out / "sizing.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
