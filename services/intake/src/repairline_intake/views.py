"""What intake's routes answer from its projections: read-only queries."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from repairline_intake.domain import sales_record as sales_record_rules
from repairline_intake.projections import STATUS, TicketView
from repairline_platform import visibility
from repairline_platform.asof import view_as_of
from repairline_platform.personal import disclosed
from repairline_platform.visibility import Owners
from repairline_rules.packs import PackBook
from repairline_rules.refusals import InvalidInput, NotFound
from repairline_rules.routing import PackRouting
from repairline_rules.warranty import WarrantyDecision

UTC_ZONE = ZoneInfo("UTC")

# Columns of ticket_view that order its updates; not part of the answer.
_INTERNAL = ("status_at", "status_version", "status_event", "verified")


async def ticket_as_of(
    pool: asyncpg.Pool, ticket_id: str, moment: datetime, zone: ZoneInfo = UTC_ZONE
) -> dict[str, Any]:
    """The ticket as it stood at `moment`: `ticket` over its events up to then."""
    return await view_as_of(
        pool, TicketView(), ticket_id, moment, lambda c: ticket(c, ticket_id, zone)
    )


async def ticket(
    pool: asyncpg.Pool | asyncpg.Connection, ticket_id: str, zone: ZoneInfo = UTC_ZONE
) -> dict[str, Any]:
    """The ticket's current status, its deadlines (in `zone`, the pack's), its facts and
    its timeline across all four services."""
    view = await pool.fetchrow("select * from ticket_view where ticket_id = $1", ticket_id)
    if view is None:
        raise NotFound(f"no ticket {ticket_id}")
    timeline = await pool.fetch(
        "select event_id, event_type, source, occurred_at, summary from ticket_timeline"
        " where ticket_id = $1 order by occurred_at, event_type",
        ticket_id,
    )
    facts = await pool.fetch(
        "select key, value from ticket_facts where ticket_id = $1 order by key", ticket_id
    )
    out = {k: v for k, v in dict(view).items() if k not in _INTERNAL}
    out["verification_issues"] = json.loads(out["verification_issues"] or "[]")
    out["facts"] = {f["key"]: json.loads(f["value"]) for f in facts}
    _check_scope(out)
    out["deadlines"] = deadlines(out["facts"], zone)
    out["customer"] = _customer(out)
    out["timeline"] = [
        {
            "event_id": t["event_id"],
            "type": t["event_type"],
            "source": t["source"],
            "time": t["occurred_at"].isoformat(),
            **json.loads(t["summary"]),
        }
        for t in timeline
    ]
    return out


async def ticket_zone(
    pool: asyncpg.Pool, ticket_id: str, packs: PackBook, default: str
) -> ZoneInfo:
    """The time zone of the pack the ticket's first event names; the default pack's for a
    ticket not opened here or a pack this service does not run."""
    pack_id = await pool.fetchval(
        "select envelope::jsonb ->> 'policypack' from events"
        " where stream_id = $1 and stream_version = 1",
        ticket_id,
    )
    return packs.versions(pack_id if pack_id in packs.packs else default)[0].zone


def deadlines(facts: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The ticket's deadlines from the moment they are decided, each a moment in the
    pack's time zone with the rule that set it (null: none set): on site by and fixed by
    (DSP-3), repaired by (DSP-3, or the depot's promise, INT-7), a complaint answered by
    (FBK-6)."""
    dispatch = facts.get("deadlines") or {}
    promised = (facts.get("depot") or {}).get("promised_repair_by")
    found = {
        "visit_by": (dispatch.get("visit_by"), "DSP-3"),
        "fix_by": (dispatch.get("fix_by"), "DSP-3"),
        "repair_by": (dispatch.get("repair_by"), "DSP-3")
        if dispatch.get("repair_by")
        else (promised, "INT-7"),
        "answer_by": (facts.get("complaint_answer_by"), "FBK-6"),
    }
    out: dict[str, Any] = {"time_zone": zone.key}
    for name, (at, rule_id) in found.items():
        local = datetime.fromisoformat(at).astimezone(zone).isoformat() if at else None
        out[name] = {"at": local, "rule_id": rule_id} if local else None
    return out


# Where a ticket no longer needs an engineer at the customer's: his job there is over.
_JOB_OVER = frozenset(
    {
        "repair_completed",
        "ended_without_repair",
        "callback_due",
        "ready_for_pickup",
        "picked_up",
        "closed",
        "cancelled",
        "refused",
    }
)
_CONTACT = {"name": "name", "phone": "phone", "mobile": "mobile", "address": "address"}


def _check_scope(out: dict[str, Any]) -> None:
    """A 404 unless the caller may read the ticket: his region; an engineer's assigned
    job, a dealer's or a customer's own ticket."""
    facts = out["facts"]
    owners = Owners(
        engineer_id=out["engineer_id"],
        dealer_id=facts.get("dealer_id"),
        customer_id=facts.get("customer_id"),
    )
    visibility.check(f"no ticket {out['ticket_id']}", out["region"], owners)


def _customer(out: dict[str, Any]) -> dict[str, Any]:
    """The customer's contact as the caller may see it: in full for those who need it
    (the engineer only while the job is his and open), masked or pseudonymised else."""
    contact = out["facts"].pop("contact", None) or dict.fromkeys(_CONTACT)
    mine = visibility.admits_engineer(out["engineer_id"]) and out["status"] not in _JOB_OVER
    return disclosed(contact, _CONTACT, visibility.disclosure(engineer_on_open_job=mine))


# -- finding tickets ----------------------------------------------------------------------

TicketStatus = StrEnum(  # type: ignore[misc]
    "TicketStatus", sorted({status for status, _ in STATUS.values() if status} | {"requested"})
)
"""Every status a ticket view shows."""

_SUMMARY = (
    "v.ticket_id, v.service_request_no, v.repair_order_no, v.status, v.region,"
    " v.product_line, v.engineer_id, v.requested_at, v.updated_at"
)


def _fact(key: str) -> str:
    """A ticket's fact as text, for the own-records scope of a list (dealer, customer)."""
    return (
        "(select f.value #>> '{}' from ticket_facts f"
        f" where f.ticket_id = v.ticket_id and f.key = '{key}')"
    )


@dataclass(frozen=True)
class TicketFilter:
    """What a list of tickets is narrowed to (None: any); `after`: the page cursor."""

    number: str | None = None
    status: str | None = None
    region: str | None = None
    engineer_id: str | None = None
    requested_from: datetime | None = None
    requested_to: datetime | None = None
    phone: str | None = None
    serial_no: str | None = None
    limit: int = 50
    after: str | None = None


async def tickets(pool: asyncpg.Pool, f: TicketFilter) -> dict[str, Any]:
    """The requested tickets matching `f` that the caller may see (his regions; an
    engineer's assigned jobs, a dealer's or a customer's own), oldest request first, a
    page at a time: `next` is the cursor of the following page (None: the last)."""
    conditions, args = _conditions(f)
    scope = visibility.sql_filter(
        len(args) + 1,
        region="v.region",
        engineer="v.engineer_id",
        dealer=_fact("dealer_id"),
        customer=_fact("customer_id"),
    )
    rows = await pool.fetch(
        f"select {_SUMMARY} from ticket_view v where {' and '.join(conditions)}{scope.sql}"
        f" order by v.requested_at, v.ticket_id limit {int(f.limit) + 1}",
        *args,
        *scope.args,
    )
    page = [dict(r) for r in rows[: f.limit]]
    more = len(rows) > f.limit
    return {"tickets": page, "next": _cursor(page[-1]) if more else None}


def _conditions(f: TicketFilter) -> tuple[list[str], list[Any]]:
    conditions, args = ["v.requested_at is not null"], []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if f.number is not None:
        n = arg(f.number)
        conditions.append(f"(v.service_request_no = {n} or v.repair_order_no = {n})")
    for column in ("status", "region", "engineer_id"):
        if getattr(f, column) is not None:
            conditions.append(f"v.{column} = {arg(getattr(f, column))}")
    if f.phone is not None:
        digits = dialled(f.phone)
        if len(digits) < MIN_PHONE_DIGITS:
            raise InvalidInput("phone", f"a phone number has at least {MIN_PHONE_DIGITS} digits")
        conditions.append(_phone_matches(arg(digits)))
    if f.serial_no is not None:
        conditions.append(
            "exists (select 1 from ticket_facts s where s.ticket_id = v.ticket_id"
            f" and s.key = 'serial_no' and s.value #>> '{{}}' = {arg(f.serial_no.strip())})"
        )
    if f.requested_from is not None:
        conditions.append(f"v.requested_at >= {arg(f.requested_from)}")
    if f.requested_to is not None:
        conditions.append(f"v.requested_at < {arg(f.requested_to)}")
    if f.after is not None:
        at, ticket_id = _position(f.after)
        conditions.append(f"(v.requested_at, v.ticket_id) > ({arg(at)}, {arg(ticket_id)})")
    return conditions, args


MIN_PHONE_DIGITS = 5
_NOT_DIGIT = re.compile(r"\D")
_COUNTRY = re.compile(r"^(?:00)?86(?=\d{11}$)")
# the same normal form in SQL, of a contact's field
_DIALLED_SQL = (
    "regexp_replace(regexp_replace(coalesce(c.value ->> '{}', ''), '\\D', '', 'g'),"
    " '^(00)?86(?=\\d{{11}}$)', '')"
)


def dialled(phone: str) -> str:
    """A phone number as it is dialled at home: its digits only, without China's country
    code before a mobile number (`+86 139-0000 0000` is `13900000000`)."""
    return _COUNTRY.sub("", _NOT_DIGIT.sub("", phone))


def _phone_matches(placeholder: str) -> str:
    """The ticket's customer has this phone or mobile (both sides in their dialled form)."""
    either = " or ".join(
        f"{_DIALLED_SQL.format(field)} = {placeholder}" for field in ("mobile", "phone")
    )
    return (
        "exists (select 1 from ticket_facts c where c.ticket_id = v.ticket_id"
        f" and c.key = 'contact' and ({either}))"
    )


def _cursor(row: dict[str, Any]) -> str:
    position = f"{row['requested_at'].isoformat()}|{row['ticket_id']}"
    return base64.urlsafe_b64encode(position.encode()).decode()


def _position(cursor: str) -> tuple[datetime, str]:
    """Where the page given by `cursor` ends: a 422 on `after` unless a list gave it."""
    try:
        at, ticket_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("no time zone")
        return moment, ticket_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("after", "not a cursor a page of this list gave") from exc


# -- warranty by serial number (WAR-3) -----------------------------------------------------


async def sales_record(
    pool: asyncpg.Pool, serial_no: str, packs: PackBook, routing: PackRouting, now: datetime
) -> dict[str, Any]:
    """WAR-3: the maker's sales record of `serial_no` and the warranty a request without
    proof of purchase would get from it today, by the pack the mapping routes its product
    line to (in that pack's time zone); 404 without one."""
    row = await pool.fetchrow(
        "select serial_no, product_line, model, sold_on from sales_records where serial_no = $1",
        serial_no,
    )
    if row is None:
        raise NotFound(f"no sales record of serial number {serial_no}")
    pack = sales_record_rules.record_pack(packs, routing, row["product_line"], now)
    today = now.astimezone(pack.zone).date()
    decided = sales_record_rules.warranty_by_serial(
        pack, row["product_line"], row["sold_on"], today=today
    )
    return {**dict(row), "warranty": _warranty(decided)}


def _warranty(decided: WarrantyDecision | None) -> dict[str, Any] | None:
    if decided is None:
        return None
    return {
        "in_warranty": decided.unit_in_warranty,
        "free_visit": decided.free_visit,
        "until": decided.unit_ends_on,
        "free_on_site_until": decided.free_on_site_ends_on,
        "reason": decided.reason,
        "decided_on": decided.decided_on,
        "rule_ids": list(decided.rule_ids),
        "pack_id": decided.pack_id,
        "pack_version": decided.pack_version,
    }
