"""A business day of intake and dispatch on the simulated clock, for end-to-end tests.

`Day` runs the two services as processes on one policy pack, moves both clocks
together, builds requests and checks that replay from offset 0 equals the live
projections.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer

from repairline_contracts.topics import (
    BILLING_EVENTS,
    CONTEXT_TOPICS,
    DISPATCH_EVENTS,
    FEEDBACK_EVENTS,
    INTAKE_EVENTS,
)
from repairline_platform.kafka import topic_partitions
from repairline_rules import BusinessCalendar, load_pack
from tests.support.infra import KAFKA, ROOT, ServiceProcess, connect, eventually, produce

ALL_CONTEXT_TOPICS = tuple(CONTEXT_TOPICS.values())

HOME = (30.2741, 120.1551)

CONSUMERS = {
    "intake": {"intake.ticket-view": ALL_CONTEXT_TOPICS},
    "dispatch": {
        "dispatch.assignment": (INTAKE_EVENTS,),
        "dispatch.quotes": (BILLING_EVENTS,),
        "dispatch.revisits": (FEEDBACK_EVENTS,),
        "dispatch.board": (DISPATCH_EVENTS,),
        "dispatch.key-account-file": (DISPATCH_EVENTS,),
        "dispatch.roster-log": (DISPATCH_EVENTS,),
    },
}

PROJECTIONS = {
    "intake": ("ticket_view", "ticket_timeline", "ticket_facts"),
    "dispatch": (
        "dispatch_board",
        "dispatch_alerts",
        "dispatch_reschedules",
        "repair_history",
        "roster_log",
    ),
}


class Day:
    """Intake and dispatch on one pack, with their clocks moved together."""

    def __init__(self, pack: str, prefix: str) -> None:
        self.pack = load_pack(pack)
        self.zone = ZoneInfo(self.pack.timezone)
        self.prefix = prefix
        env = {"REPAIRLINE_POLICY_PACK": pack, "REPAIRLINE_TIMER_POLL_SECONDS": "0.05"}
        self.intake = ServiceProcess(
            "intake", prefix=prefix, database=f"{prefix.rstrip('.')}_intake", extra_env=env
        )
        self.dispatch = ServiceProcess(
            "dispatch", prefix=prefix, database=f"{prefix.rstrip('.')}_dispatch", extra_env=env
        )
        self.day: date | None = None
        self._serial = 0

    # -- processes and clocks ----------------------------------------------------------

    def start(self) -> Day:
        self.intake.start()
        self.dispatch.start()
        self.day = self._business_day()
        self.at("07:30")
        return self

    def stop(self) -> None:
        for proc in (self.intake, self.dispatch):
            proc.terminate()

    def now(self) -> datetime:
        _, body = self.dispatch.request("GET", "/admin/clock")
        return datetime.fromisoformat(body["now"])

    def _business_day(self) -> date:
        """The next day that, with the two days after, is a Monday-to-Friday working day.

        A day's tests book and reschedule up to two days ahead, so all three must be
        working days whatever date the clock shows (see REPAIRLINE_CLOCK_DATE).
        """
        calendar = BusinessCalendar.from_pack(self.pack)
        day = self.now().astimezone(self.zone).date() + timedelta(days=1)
        while not all(
            d.weekday() < 5 and calendar.is_working_day(d)
            for d in (day + timedelta(days=n) for n in range(3))
        ):
            day += timedelta(days=1)
        return day

    def local(self, clock: str, *, days: int = 0) -> datetime:
        assert self.day is not None
        hours, minutes = (int(x) for x in clock.split(":"))
        return datetime.combine(self.day + timedelta(days=days), time(hours, minutes), self.zone)

    def advance(self, delta: timedelta) -> None:
        seconds = delta.total_seconds()
        for proc in (self.intake, self.dispatch):
            status, body = proc.request("POST", "/admin/clock/advance", {"seconds": seconds})
            assert status == 200, body

    def at(self, clock: str, *, days: int = 0) -> None:
        """Move both clocks to a local time of the business day (never backwards)."""
        target = self.local(clock, days=days)
        now = self.now()
        if target > now:
            self.advance(target - now)

    # -- requests -----------------------------------------------------------------------

    def window(self, start: str, end: str, *, days: int = 0) -> dict[str, str]:
        return {
            "start": self.local(start, days=days).isoformat(),
            "end": self.local(end, days=days).isoformat(),
        }

    def slot(self, start: str, end: str, *, days: int = 0) -> dict[str, str]:
        w = self.window(start, end, days=days)
        return {"window_start": w["start"], "window_end": w["end"]}

    def serial(self) -> str:
        self._serial += 1
        return f"SN{self.prefix[:6].upper()}{self._serial:04d}"

    def body(self, line: str, **overrides: Any) -> dict[str, Any]:
        spot = self._serial % 7
        body: dict[str, Any] = {
            "channel": "hotline",
            "region": "cn-east",
            "city_tier": "provincial_capital",
            "service_mode": "on_site",
            "customer": {
                "name": "Li Wei",
                "mobile": "+86 139 0000 0000",
                "address": "88 Example Road, Hangzhou",
            },
            "product": {
                "line": line,
                "model": "M-1",
                "serial_no": self.serial(),
                "purchase_date": "2024-03-01",
            },
            "fault_description": "does not start",
            "customer_wants": "repair",
            "fault_kind": "hardware",
            "location": {"lat": HOME[0] + 0.004 * spot, "lon": HOME[1] + 0.003 * spot},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(body.get(key), dict):
                body[key] = {**body[key], **value}
            else:
                body[key] = value
        return body

    def create(self, body: dict[str, Any], *, expect: int = 201) -> dict[str, Any]:
        status, created = self.intake.request("POST", "/tickets", body)
        assert status == expect, created
        return created

    def cmd(
        self, path: str, body: dict[str, Any] | None = None, *, expect: int = 200
    ) -> dict[str, Any]:
        status, answer = self.dispatch.request("POST", path, body or {})
        assert status == expect, (path, answer)
        return answer

    def icmd(
        self, path: str, body: dict[str, Any] | None = None, *, expect: int = 200
    ) -> dict[str, Any]:
        status, answer = self.intake.request("POST", path, body or {})
        assert status == expect, (path, answer)
        return answer

    def engineer(self, engineer_id: str, skills: list[str], n: int, **extra: Any) -> None:
        body = {
            "name": f"Engineer {n}",
            "region": "cn-east",
            "skills": skills,
            "capacity": 8,
            "home": {"lat": HOME[0] + 0.01 * n, "lon": HOME[1] - 0.01 * n},
            **extra,
        }
        status, answer = self.dispatch.request("PUT", f"/engineers/{engineer_id}", body)
        assert status == 200, answer

    async def board(self, ticket_id: str, check: Any = lambda b: True) -> dict[str, Any]:
        async def attempt() -> Any:
            status, body = self.dispatch.request("GET", f"/tickets/{ticket_id}")
            return body if status == 200 and check(body) else None

        return await eventually(attempt, timeout=60, interval=0.05)

    async def view(self, ticket_id: str, check: Any = lambda b: True) -> dict[str, Any]:
        async def attempt() -> Any:
            status, body = self.intake.request("GET", f"/tickets/{ticket_id}")
            return body if status == 200 and check(body) else None

        return await eventually(attempt, timeout=60, interval=0.05)

    async def boards(self, ticket_ids: list[str], check: Any) -> dict[str, dict[str, Any]]:
        return {t: await self.board(t, check) for t in ticket_ids}

    async def alert(self, ticket_id: str, kind: str) -> dict[str, Any]:
        async def attempt() -> Any:
            _, alerts = self.dispatch.request("GET", f"/alerts?kind={kind}&limit=5000")
            found = [a for a in alerts if a["ticket_id"] == ticket_id]
            return found[0] if found else None

        return await eventually(attempt, timeout=60, interval=0.05)

    async def foreign(self, topic: str, event_type: str, data: dict[str, Any]) -> None:
        """An event of another context on its topic, as plain CloudEvents JSON."""
        envelope = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/tests",
            "type": event_type,
            "time": self.now().isoformat(),
            "subject": data["ticket_id"],
            "datacontenttype": "application/json",
            "schemaversion": 1,
            "region": "cn-east",
            "policypack": self.pack.id,
            "policyversion": self.pack.version,
            "correlationid": str(uuid.uuid4()),
            "causationid": "tests",
            "streamversion": 1,
            "data": data,
        }
        await produce(
            self.prefix + topic, [(data["ticket_id"].encode(), json.dumps(envelope).encode())]
        )

    async def quote_accepted(self, ticket_id: str) -> None:
        await self.foreign(
            BILLING_EVENTS,
            "repairline.billing.QuoteAccepted",
            {
                "ticket_id": ticket_id,
                "quote_id": f"q-{ticket_id[:8]}",
                "total_fen": 5000,
                "accepted_at": self.now().isoformat(),
            },
        )

    async def quote_refused(self, ticket_id: str) -> None:
        await self.foreign(
            BILLING_EVENTS,
            "repairline.billing.QuoteRefused",
            {
                "ticket_id": ticket_id,
                "quote_id": f"q-{ticket_id[:8]}",
                "refused_at": self.now().isoformat(),
                "reason": "too expensive",
            },
        )

    async def revisit_requested(self, ticket_id: str) -> None:
        await self.foreign(
            FEEDBACK_EVENTS,
            "repairline.feedback.RevisitRequested",
            {
                "ticket_id": ticket_id,
                "case_id": f"case-{ticket_id[:8]}",
                "reason": "still leaking",
                "requested_at": self.now().isoformat(),
            },
        )

    # -- replay -------------------------------------------------------------------------

    async def settled(self) -> None:
        """Wait until every consumer of both services has applied everything published."""

        async def caught_up() -> bool:
            consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None)
            await consumer.start()
            try:
                tps = await topic_partitions(KAFKA, [self.prefix + t for t in ALL_CONTEXT_TOPICS])
                end = await consumer.end_offsets(tps)
            finally:
                await consumer.stop()
            for proc in (self.intake, self.dispatch):
                db = await connect(proc.database)
                try:
                    unpublished = await db.fetchval(
                        "select count(*) from events where published_at is null"
                    )
                    if unpublished:
                        return False
                    for name, consumed in CONSUMERS[proc.name].items():
                        rows = await db.fetch(
                            "select topic, partition, next_offset from consumer_offsets"
                            " where consumer = $1",
                            name,
                        )
                        stored = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
                        for tp, offset in end.items():
                            wanted = tp.topic[len(self.prefix) :] in consumed
                            if (
                                wanted
                                and offset
                                and stored.get((tp.topic, tp.partition), 0) < offset
                            ):
                                return False
                finally:
                    await db.close()
            return True

        await eventually(caught_up, timeout=60, interval=0.2)

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for proc in (self.intake, self.dispatch):
            db = await connect(proc.database)
            try:
                for table in PROJECTIONS[proc.name]:
                    rows = await db.fetch(f"select * from {table}")
                    out[table] = sorted((tuple(r.values()) for r in rows), key=repr)
            finally:
                await db.close()
        return out

    async def replay_equals_live(self) -> dict[str, int]:
        """Stop both services, rebuild their projections from offset 0, compare."""
        await self.settled()
        live = await self.snapshot()
        for proc in (self.intake, self.dispatch):
            assert proc.terminate() == 0
            done = subprocess.run(
                [str(ROOT / ".venv" / "bin" / f"repairline-{proc.name}"), "replay"],
                env={**os.environ, **proc.env},
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert done.returncode == 0, done.stderr
        replayed = await self.snapshot()
        for table, rows in live.items():
            if replayed[table] != rows:
                live_only = [r for r in rows if r not in replayed[table]]
                replayed_only = [r for r in replayed[table] if r not in rows]
                raise AssertionError(
                    f"{table} differs after replay:"
                    f" live {live_only[:3]} replayed {replayed_only[:3]}"
                )
        return {table: len(rows) for table, rows in live.items()}


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)
