"""A generated history of every event type, built with the contracts' models.

Tickets live a plausible life (requested, assigned, on site, completed, charged, called
back; some complaints, fines and fines voided on appeal) and every other event type
appears with values drawn from its schema, so an export, its views and the analytics
SQL can be tried and tested on known data. Seeded: the same seed gives the same history.
"""

from __future__ import annotations

import random
import types
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, MinLen
from pydantic import BaseModel

from repairline_contracts import billing as b
from repairline_contracts import dispatch as d
from repairline_contracts import feedback as f
from repairline_contracts import intake as i
from repairline_contracts.base import Decision, Event
from repairline_contracts.envelope import Envelope, wrap
from repairline_contracts.registry import EVENT_TYPES

CST = timezone(timedelta(hours=8))
REGIONS = ("cn-east", "cn-north", "cn-south")
LINES = ("instant_water_heater", "storage_water_heater", "gas_water_heater")
OUTLETS = tuple(f"sp-{n}" for n in range(5))
LIFECYCLE = frozenset(
    {
        i.RepairRequested,
        i.RequestVerified,
        d.EngineerAssigned,
        d.ArrivedOnSite,
        d.RepairCompleted,
        d.ConsentRecorded,
        d.SlaDeadlinesRecomputed,
        b.ChargeAssessed,
        b.PenaltyAssessed,
        b.PenaltyVoided,
        f.CallbackCompleted,
        f.ComplaintFiled,
    }
)


class Sampler:
    """Values of any annotation in the contracts, from a seeded generator."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.start = start

    def time(self, within_days: int = 90) -> datetime:
        seconds = self.rng.randrange(within_days * 86400)
        micros = self.rng.randrange(1_000_000)
        return self.start + timedelta(seconds=seconds, microseconds=micros)

    def instance(self, cls: type[BaseModel], **given: Any) -> Any:
        values = {
            name: self.value(info.annotation, info.metadata, name)
            for name, info in cls.model_fields.items()
            if name not in given
        }
        return cls(**values, **given)

    def value(self, annotation: Any, metadata: list[Any], name: str) -> Any:
        if get_origin(annotation) in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if self.rng.random() < 0.2:
                return None
            annotation = args[0]
        origin = get_origin(annotation)
        if origin is Literal:
            return self.rng.choice(get_args(annotation))
        if origin in (tuple, list):
            least = max([m.min_length for m in metadata if isinstance(m, MinLen)] or [0])
            count = self.rng.randint(least, least + 2)
            return tuple(self.value(get_args(annotation)[0], [], name) for _ in range(count))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self.instance(annotation)
        return self._scalar(annotation, metadata, name)

    def _scalar(self, annotation: Any, metadata: list[Any], name: str) -> Any:
        if annotation is bool:
            return self.rng.random() < 0.5
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            return self.rng.choice(list(annotation))
        if annotation in (int, float):
            low = max([m.ge for m in metadata if isinstance(m, Ge)] or [0])
            low = max([low, *(m.gt + 1 for m in metadata if isinstance(m, Gt))])
            high = min([m.le for m in metadata if isinstance(m, Le)] or [1_000_000])
            if annotation is float:
                return round(self.rng.uniform(low, high), 6)
            return self.rng.randint(int(low), int(high))
        if annotation is datetime:
            return self.time()
        if annotation is date:
            return date(2024, 1, 1) + timedelta(days=self.rng.randrange(900))
        if annotation is str:
            return f"{name}-{self.rng.randrange(10**9)}"  # wide: two draws must not meet
        raise TypeError(f"cannot sample {annotation!r}")


def decision(*rule_ids: str) -> Decision:
    return Decision(pack_id="water-heater", pack_version="2026.1", rule_ids=rule_ids)


class History:
    """Builds the envelopes of a history; `events` keeps them in the order produced."""

    def __init__(self, seed: int = 16, start: datetime = datetime(2026, 9, 1, tzinfo=CST)):
        self.rng = random.Random(seed)
        self.sample = Sampler(self.rng, start)
        self.events: list[Envelope] = []
        self._versions: dict[str, int] = {}

    def add(self, event: Event, at: datetime, region: str = "cn-east") -> None:
        version = self._versions[event.ticket_id] = self._versions.get(event.ticket_id, 0) + 1
        self.events.append(
            wrap(
                event,
                event_id=f"ev-{len(self.events):07d}",
                source=f"/{event.event_type.split('.')[1]}",
                time=at,
                region=region,
                policy_pack="water-heater",
                policy_version="2026.1",
                correlation_id=f"corr-{event.ticket_id}",
                causation_id="sample",
                stream_version=version,
            )
        )


def generate(*, tickets: int = 400, extras_per_type: int = 25, seed: int = 16) -> list[Envelope]:
    """A history of `tickets` lives plus `extras_per_type` events of every other type."""
    history = History(seed)
    for n in range(tickets):
        _ticket(history, n)
    for cls in EVENT_TYPES:
        if cls not in LIFECYCLE:
            for _ in range(extras_per_type):
                event = history.sample.instance(cls)
                history.add(event, history.sample.time())
    return history.events


def _ticket(h: History, n: int) -> None:
    rng, s = h.rng, h.sample
    t = f"ticket-{n:05d}"
    region, line = rng.choice(REGIONS), rng.choice(LINES)
    tier = rng.choice(list(i.CityTier))
    requested = s.time(80)
    h.add(_request(s, t, region, tier, line, requested, n), requested, region)
    if rng.random() < 0.05:
        verified = requested + timedelta(minutes=rng.randint(1, 30))
        h.add(s.instance(i.RequestVerified, ticket_id=t, verified_at=verified), verified, region)
    engineer, outlet = f"eng-{rng.randrange(12):02d}", rng.choice(OUTLETS)
    assigned = requested + timedelta(minutes=rng.randint(5, 120), microseconds=rng.randrange(10**6))
    visit_by = requested + timedelta(hours=24)
    h.add(_assigned(t, region, line, engineer, outlet, assigned, visit_by), assigned, region)
    if rng.random() < 0.08:
        visit_by = visit_by + timedelta(hours=rng.randint(2, 12))
        resumed = assigned + timedelta(hours=1)
        h.add(_recomputed(s, t, visit_by, resumed), resumed, region)
    if rng.random() < 0.15:
        quiet = _request_gone_quiet(h, t, outlet, engineer, requested)
        h.add(quiet, quiet.filed_at, region)
        return
    arrived = requested + timedelta(minutes=rng.randint(60, 36 * 60), seconds=rng.randrange(60))
    h.add(d.ArrivedOnSite(ticket_id=t, engineer_id=engineer, arrived_at=arrived), arrived, region)
    if rng.random() < 0.2:
        consent = arrived + timedelta(minutes=5)
        h.add(s.instance(d.ConsentRecorded, ticket_id=t, recorded_at=consent), consent, region)
    if rng.random() < 0.1:
        return
    _after_visit(h, t, region, tier, line, engineer, outlet, arrived)


def _request(
    s: Sampler, t: str, region: str, tier: i.CityTier, line: str, at: datetime, n: int
) -> i.RepairRequested:
    return s.instance(
        i.RepairRequested,
        ticket_id=t,
        region=region,
        city_tier=tier,
        service_mode=i.ServiceMode.ON_SITE,
        customer=i.Customer(
            name=f"Customer Name {n:05d}",
            phone=f"021-5555-{n:05d}",
            mobile=f"+86 139 {n:05d} 77",
            address=f"{n} Sample Road, Building {n % 17}",
        ),
        product=i.Product(line=line, model="WH-30", serial_no=f"SN{n:07d}"),
        location=i.GeoPoint(lat=30 + (n % 1000) / 1009, lon=120 + (n % 1000) / 1013),
        requested_at=at,
    )


def _assigned(
    t: str, region: str, line: str, engineer: str, outlet: str, at: datetime, visit_by: datetime
) -> d.EngineerAssigned:
    return d.EngineerAssigned(
        ticket_id=t,
        engineer_id=engineer,
        region=region,
        skill=line,
        open_jobs_before=0,
        reason="fewest open jobs",
        assigned_at=at,
        service_point_id=outlet,
        visit_by=visit_by,
        decision=decision("DSP-1", "DSP-3"),
    )


def _recomputed(s: Sampler, t: str, visit_by: datetime, at: datetime) -> d.SlaDeadlinesRecomputed:
    return s.instance(
        d.SlaDeadlinesRecomputed, ticket_id=t, visit_by=visit_by, resumed_at=at, version=1
    )


def _request_gone_quiet(
    h: History, t: str, outlet: str, engineer: str, requested: datetime
) -> f.ComplaintFiled:
    """Nobody came: the customer complains (lateness)."""
    return _complaint(h, t, outlet, engineer, requested + timedelta(days=2), "lateness")


def _complaint(
    h: History, t: str, outlet: str, engineer: str, at: datetime, kind: str
) -> f.ComplaintFiled:
    return h.sample.instance(
        f.ComplaintFiled,
        ticket_id=t,
        complaint_id=f"cmp-{t}",
        kind=kind,
        outlet_id=outlet,
        engineer_id=engineer,
        filed_at=at,
    )


def _after_visit(
    h: History,
    t: str,
    region: str,
    tier: i.CityTier,
    line: str,
    engineer: str,
    outlet: str,
    arrived: datetime,
) -> None:
    rng, s = h.rng, h.sample
    done = arrived + timedelta(minutes=rng.randint(20, 180))
    completed = s.instance(
        d.RepairCompleted,
        ticket_id=t,
        engineer_id=engineer,
        completed_at=done,
        signed_by=f"Signer {t}",
    )
    h.add(completed, done, region)
    charged = done + timedelta(minutes=1)
    h.add(_charge(s, t, tier, line, engineer, outlet, done, charged), charged, region)
    if rng.random() < 0.7:
        called = done + timedelta(days=rng.randint(1, 3), minutes=rng.randint(0, 600))
        h.add(_callback(s, t, engineer, outlet, called), called, region)
    if rng.random() < 0.12:
        kind = rng.choice(["attitude", "overcharge", "quality"])
        filed = done + timedelta(days=1)
        h.add(_complaint(h, t, outlet, engineer, filed, kind), filed, region)
    _maybe_fined(h, t, region, outlet, done)


def _charge(
    s: Sampler,
    t: str,
    tier: i.CityTier,
    line: str,
    engineer: str,
    outlet: str,
    done: datetime,
    at: datetime,
) -> b.ChargeAssessed:
    total = s.rng.choice([0, 0, 3000, 5000, 8000 + s.rng.randrange(100_000)])
    inputs = b.ChargeInputs(
        product_line=line,
        city_tier=tier.value,
        service_mode="on_site",
        unit_in_warranty=total == 0,
        purchase_date=None,
        completed_at=done,
    )
    line_item = b.ChargeLine(
        code="visit", description="visit", amount_fen=total, rule_id="FEE-1", reason="tariff"
    )
    return b.ChargeAssessed(
        ticket_id=t,
        total_fen=total,
        lines=(line_item,),
        inputs=inputs,
        decision=decision("FEE-1"),
        assessed_at=at,
        engineer_id=engineer,
        outlet_id=outlet,
    )


def _callback(s: Sampler, t: str, engineer: str, outlet: str, at: datetime) -> f.CallbackCompleted:
    return s.instance(
        f.CallbackCompleted,
        ticket_id=t,
        callback_id=f"cb-{t}",
        engineer_id=engineer,
        outlet_id=outlet,
        completed_at=at,
        decision=decision("FBK-2", "FBK-5"),
    )


def _maybe_fined(h: History, t: str, region: str, outlet: str, done: datetime) -> None:
    rng = h.rng
    if rng.random() >= 0.1:
        return
    assessed = done + timedelta(days=2)
    penalty = h.sample.instance(
        b.PenaltyAssessed,
        ticket_id=t,
        penalty_id=f"pen-{t}",
        subject="outlet",
        outlet_id=outlet,
        fine_fen=rng.choice([5000, 10000, 20000]),
        assessed_at=assessed,
    )
    h.add(penalty, assessed, region)
    if rng.random() < 0.35:
        voided = assessed + timedelta(days=5)
        h.add(
            h.sample.instance(
                b.PenaltyVoided, ticket_id=t, penalty_id=f"pen-{t}", voided_at=voided
            ),
            voided,
            region,
        )
