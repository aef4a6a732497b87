"""Billing and feedback as processes on a shared simulated clock, fed with the lifecycle
contexts' events straight onto their topics (for the money and follow-up tests)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import urllib.request
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from repairline_contracts.base import Event
from repairline_contracts.dispatch import (
    ArrivedOnSite,
    EngineerAssigned,
    RepairCompleted,
    RepairRecord,
)
from repairline_contracts.envelope import wrap
from repairline_contracts.intake import CityTier, Customer, Product, RepairRequested, ServiceMode
from tests.support.infra import ROOT, ServiceProcess, connect, eventually, produce


class MoneyWorld:
    """Billing and feedback of one policy pack, their clocks moved together."""

    def __init__(self, prefix: str, pack: str) -> None:
        self.prefix = prefix
        self.pack = pack
        env = {"REPAIRLINE_POLICY_PACK": pack, "REPAIRLINE_TIMER_POLL_SECONDS": "0.1"}
        self.billing = ServiceProcess(
            "billing", prefix=prefix, database=f"{prefix.rstrip('.')}_billing", extra_env=env
        )
        self.feedback = ServiceProcess(
            "feedback", prefix=prefix, database=f"{prefix.rstrip('.')}_feedback", extra_env=env
        )
        self.versions: dict[str, int] = {}

    @property
    def services(self) -> tuple[ServiceProcess, ServiceProcess]:
        return self.billing, self.feedback

    def start(self) -> MoneyWorld:
        for service in self.services:
            service.start()
        return self

    def stop(self) -> None:
        for service in self.services:
            service.terminate()

    # -- time --------------------------------------------------------------------------

    def now(self) -> datetime:
        status, body = self.billing.request("GET", "/admin/clock")
        assert status == 200
        return datetime.fromisoformat(body["now"])

    def at(self, moment: datetime) -> datetime:
        """Move both services' clocks to `moment` (never back) and return it."""
        for service in self.services:
            _, body = service.request("GET", "/admin/clock")
            delta = (moment - datetime.fromisoformat(body["now"])).total_seconds()
            if delta > 0:
                status, _ = service.request("POST", "/admin/clock/advance", {"seconds": delta})
                assert status == 200
        return moment

    # -- the other contexts' facts, produced onto their topics --------------------------

    async def emit(self, *events: Event) -> None:
        by_topic: dict[str, list[tuple[bytes, bytes]]] = {}
        for event in events:
            version = self.versions.get(event.ticket_id, 0) + 1
            self.versions[event.ticket_id] = version
            envelope = wrap(
                event,
                event_id=str(uuid.uuid4()),
                source="/tests",
                time=datetime.now(UTC),
                region="cn-east",
                policy_pack=self.pack,
                policy_version="test",
                correlation_id=str(uuid.uuid4()),
                causation_id="test",
                stream_version=version,
            )
            by_topic.setdefault(self.prefix + event.topic, []).append(
                (event.ticket_id.encode(), envelope.to_bytes())
            )
        for topic, messages in by_topic.items():
            await produce(topic, messages)

    async def request(
        self,
        *,
        line: str,
        city_tier: str,
        purchase_date: date | None,
        at: datetime,
        name: str = "Customer",
        organisation: str | None = None,
        serial_no: str | None = None,
        service_mode: str = "on_site",
    ) -> str:
        ticket_id = str(uuid.uuid4())
        await self.emit(
            RepairRequested(
                ticket_id=ticket_id,
                service_request_no=f"SR-{ticket_id[:8]}",
                repair_order_no=f"RO-{ticket_id[:8]}",
                channel="hotline",
                region="cn-east",
                city_tier=CityTier(city_tier),
                service_mode=ServiceMode(service_mode),
                customer=Customer(
                    name=name,
                    mobile="13900000000",
                    address="1 Test Road",
                    organisation=organisation,
                ),
                product=Product(
                    line=line,
                    model="M-1",
                    serial_no=serial_no or f"SN{ticket_id[:8]}",
                    purchase_date=purchase_date,
                ),
                fault_description="does not work",
                needs_verification=False,
                requested_at=at,
            )
        )
        return ticket_id

    async def assign(
        self, ticket_id: str, engineer_id: str, at: datetime, *, service_point: str | None = None
    ) -> None:
        fields: dict[str, Any] = {}
        if service_point is not None:
            fields["service_point_id"] = service_point
        await self.emit(
            EngineerAssigned(
                ticket_id=ticket_id,
                engineer_id=engineer_id,
                region="cn-east",
                skill="any",
                open_jobs_before=0,
                reason="test",
                assigned_at=at,
                **fields,
            )
        )

    async def arrive(self, ticket_id: str, engineer_id: str, at: datetime) -> None:
        await self.emit(ArrivedOnSite(ticket_id=ticket_id, engineer_id=engineer_id, arrived_at=at))

    async def complete(
        self,
        ticket_id: str,
        engineer_id: str,
        at: datetime,
        *,
        parts_replaced: tuple[str, ...] | None = None,
    ) -> None:
        fields: dict[str, Any] = {}
        if parts_replaced is not None:
            fields["repair_record"] = RepairRecord(
                fault_found="worn parts", parts_replaced=parts_replaced
            )
        await self.emit(
            RepairCompleted(
                ticket_id=ticket_id,
                engineer_id=engineer_id,
                completed_at=at,
                resolution="fixed",
                **fields,
            )
        )

    # -- reading -----------------------------------------------------------------------

    async def poll(self, service: ServiceProcess, path: str, check=lambda body: True) -> Any:
        async def attempt() -> Any:
            status, body = service.request("GET", path)
            return body if status == 200 and check(body) else None

        return await eventually(attempt, timeout=60)

    async def text(self, service: ServiceProcess, path: str) -> str:
        """A non-JSON answer (CSV), read off the event loop."""

        def read() -> str:
            with urllib.request.urlopen(service.url + path, timeout=15) as resp:
                return resp.read().decode()

        return await asyncio.to_thread(read)

    def ok(self, service: ServiceProcess, method: str, path: str, body: Any = None) -> Any:
        status, answer = service.request(method, path, body)
        assert status in (200, 201), (method, path, status, answer)
        return answer

    # -- replay ------------------------------------------------------------------------

    async def assert_replay_equals_live(self, tables: dict[str, list[str]]) -> None:
        """Stop the services, rebuild their projections from offset 0, compare."""
        live: dict[str, dict[str, list[tuple]]] = {}
        for service in self.services:
            db = await connect(service.database)
            try:
                # timers already due fire first, or their effects land after the snapshot
                _, clock = service.request("GET", "/admin/clock")
                now = datetime.fromisoformat(clock["now"])
                await eventually(
                    lambda db=db, now=now: db.fetchval(
                        "select count(*) = 0 from timers where fired_at is null and due_at <= $1",
                        now,
                    ),
                    timeout=60,
                )
                live[service.name] = {t: await _rows(db, t) for t in tables.get(service.name, [])}
            finally:
                await db.close()
        for service in self.services:
            assert service.terminate() == 0
            done = subprocess.run(
                [str(ROOT / ".venv" / "bin" / f"repairline-{service.name}"), "replay"],
                env={**os.environ, **service.env},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            db = await connect(service.database)
            try:
                for table, rows in live[service.name].items():
                    assert await _rows(db, table) == rows, f"{service.name}.{table} differs"
            finally:
                await db.close()


async def _rows(db: Any, table: str) -> list[tuple]:
    rows = await db.fetch(f"select * from {table} order by 1")
    return [tuple(r.values()) for r in rows]


def local(pack_zone: Any, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=pack_zone)  # type: ignore[misc]


def days(n: float) -> timedelta:
    return timedelta(days=n)
