"""Every dispatch projection rebuilt by `replay` equals the live one (real Kafka and
PostgreSQL): the copy of intake's and billing's facts, the roster, key accounts, the
workload, the board, the key-account file and the roster log."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from repairline_contracts.billing import QuoteAccepted, QuoteRefused
from repairline_contracts.intake import (
    GeoPoint,
    RepairRequested,
    RequestVerified,
    TicketCancelled,
    TimeWindow,
    Urgency,
)
from repairline_contracts.topics import BILLING_EVENTS, INTAKE_EVENTS
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_rules import BusinessCalendar, load_pack
from tests.support.factories import repair_requested
from tests.support.system import (
    ServiceProcess,
    System,
    connect,
    eventually,
    replay_every_projection,
    send,
)

CONSUMERS = ("dispatch.assignment", "dispatch.quotes")
HANGZHOU = GeoPoint(lat=30.27, lon=120.15)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def requests(now: datetime) -> list[Any]:
    """Requests of every kind dispatch copies, with the facts that follow them."""
    plain = [repair_requested() for _ in range(6)]
    nobody = repair_requested(region="cn-north")
    window = TimeWindow(start=_working_hour(now), end=_working_hour(now) + timedelta(hours=1))
    booked = repair_requested().model_copy(
        update={"preferred_window": window, "location": HANGZHOU, "key_account_id": "ka-1"}
    )
    held = repair_requested().model_copy(update={"needs_verification": True})
    verified = RequestVerified(
        ticket_id=held.ticket_id,
        customer=held.customer,
        product=held.product,
        customer_wants=None,
        urgency=Urgency.NORMAL,
        location=HANGZHOU,
        resolved_issues=(),
        verified_with=("dispatcher", "customer"),
        verified_at=now,
    )
    cancelled = TicketCancelled(
        ticket_id=plain[0].ticket_id, reason="fixed itself", cancelled_at=now
    )
    return [*plain, nobody, booked, held, verified, cancelled]


def _working_hour(now: datetime) -> datetime:
    """10:00 in Shanghai on a Tuesday to Thursday at least two days ahead that the pack's
    calendar counts as a working day, as the day after it (the reschedule's), so neither
    falls inside a holiday such as National Day."""
    calendar = BusinessCalendar.from_pack(load_pack("water-heater"))
    day = now.astimezone(SHANGHAI).date() + timedelta(days=2)
    while day.weekday() not in (1, 2, 3) or not all(
        calendar.is_working_day(day + timedelta(days=n)) for n in (0, 1)
    ):
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), SHANGHAI)


def quotes(accepted: RepairRequested, refused: RepairRequested, now: datetime) -> list[Any]:
    return [
        QuoteAccepted(
            ticket_id=accepted.ticket_id, quote_id="q-1", total_fen=3000, accepted_at=now
        ),
        QuoteRefused(
            ticket_id=refused.ticket_id, quote_id="q-2", refused_at=now, reason="too dear"
        ),
    ]


async def test_every_dispatch_projection_replayed_equals_the_live_one(prefix: str):
    system = System(prefix, "water-heater", ("dispatch",)).start()
    service = system.dispatch
    db = await connect(service.database)
    try:
        roster(service)
        now = system.now()  # the service's clock, whatever date it was started on
        facts = requests(now)
        await send(prefix, INTAKE_EVENTS, facts)
        plain = facts[:6]
        money = quotes(plain[1], plain[2], now)
        await send(prefix, BILLING_EVENTS, money)
        await eventually(lambda: _consumed(db, len(facts), len(money)), timeout=90)
        for r in plain[3:5]:
            assert service.request("POST", f"/tickets/{r.ticket_id}/arrival", {})[0] == 200
        done = service.request(
            "POST", f"/tickets/{plain[3].ticket_id}/completion", {"resolution": "fixed"}
        )
        assert done[0] == 200, done
        assert done[1]["events"] == ["RepairCompleted"] and done[1]["correlation_id"]
        # DSP-2: the booked visit moved a day later with the customer's consent
        start = _working_hour(now) + timedelta(days=1)
        moved = {
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=1)).isoformat(),
            "reason": "customer at work",
            "requested_by": "customer",
            "customer_consents": True,
        }
        booked = facts[7].ticket_id
        rescheduled = service.request("POST", f"/tickets/{booked}/reschedule", moved)
        assert rescheduled[0] == 200, rescheduled
        replayed = await replay_every_projection(service, prefix)
        live = replayed.live
        assert len(live["engineer_repairs"]) == 1 and live["waiting_tickets"]
        assert live["key_accounts"] and live["appointments"] and live["engineers"]
        for name in ("dispatch.jobs", "dispatch.workload", "dispatch.roster-log"):
            assert name in replayed.stdout
        # day_plans: test_day_plan.py proposes, commits and replays a plan
        replayed.assert_covers(DISPATCH, filled_elsewhere=("day_plans",))
    finally:
        await db.close()
        system.stop()
        await system.drop()


def roster(service: ServiceProcess) -> None:
    point = {"name": "Hangzhou outlet", "region": "cn-east", "city_tier": "provincial_capital"}
    assert service.request("PUT", "/service-points/sp-1", point)[0] == 200
    for engineer_id in ("eng-a", "eng-b"):
        body = {
            "name": engineer_id.upper(),
            "region": "cn-east",
            "skills": ["instant_water_heater"],
        }
        assert service.request("PUT", f"/engineers/{engineer_id}", body)[0] == 200
    account = {"organisation": "Acme Trading", "units": 40, "service_point_id": "sp-1"}
    assert service.request("PUT", "/key-accounts/ka-1", account)[0] == 200
    assert service.request("PUT", "/key-accounts/ka-1", {**account, "units": 42})[0] == 200


async def _consumed(db: Any, intake: int, billing: int) -> bool:
    rows = await db.fetch(
        "select consumer, sum(next_offset) as n from consumer_offsets"
        " where consumer = any($1::text[]) group by consumer",
        list(CONSUMERS),
    )
    got = {r["consumer"]: r["n"] for r in rows}
    wanted = {
        "dispatch.assignment": intake,
        "dispatch.quotes": billing,
    }
    return all(got.get(name, 0) >= n for name, n in wanted.items())
