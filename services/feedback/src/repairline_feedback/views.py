"""What feedback's routes answer, read from its projections (read-only SQL)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from repairline_feedback.domain import percent
from repairline_feedback.domain.sample import year_bounds
from repairline_platform import visibility
from repairline_platform.personal import disclosed
from repairline_platform.reads import fetch_one
from repairline_platform.reads import json_value as _j
from repairline_platform.visibility import Owners
from repairline_rules import surveys
from repairline_rules.packs import PolicyPack


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _fields(spec: str) -> dict[str, str]:
    """`"a b=c"`: answer field `a` from column `a`, field `b` from column `c`."""
    return {name: column or name for name, _, column in (f.partition("=") for f in spec.split())}


def _answer(row: Any, fields: dict[str, str]) -> dict[str, Any]:
    """The row's columns under their answer names: times as ISO text, JSON decoded."""
    return {
        name: _j(row[column]) if column in ("answers", "decision") else _iso(row[column])
        for name, column in fields.items()
    }


def local_day(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    return start, start + timedelta(days=1)


# -- callbacks (FBK-1..5) -----------------------------------------------------------------


CALLBACK = _fields(
    "callback_id ticket_id reason status due_at fired_at attempt=due_attempt"
    " unreached_attempts=attempts retry_at grade answers outcome_reason completed_at decision"
)


def _callback(r: Any) -> dict[str, Any]:
    return _answer(r, CALLBACK)


async def callbacks(db: Any, status: str, ticket_id: str | None, limit: int) -> list[dict]:
    """Callbacks on the list (of the caller's regions), oldest due first."""
    scope = visibility.sql_filter(4, region="s.region", engineer="c.engineer_id")
    rows = await db.fetch(
        "select c.* from callbacks c left join served s using (ticket_id)"
        " where ($1 = 'all' or c.status = $1) and ($2::text is null or c.ticket_id = $2)"
        f"{scope.sql} order by c.due_at, c.callback_id limit $3",
        status,
        ticket_id,
        limit,
        *scope.args,
    )
    return [_callback(r) for r in rows]


async def callback(db: Any, callback_id: str) -> dict[str, Any]:
    query = (
        "select c.*, s.region from callbacks c left join served s using (ticket_id)"
        " where c.callback_id = $1"
    )
    missing = f"no callback {callback_id}"
    row = await fetch_one(db, missing, query, callback_id)
    visibility.check(missing, row["region"], Owners(engineer_id=row["engineer_id"]))
    return _callback(row)


MORNING_LIST = """
    with valid as (
        select distinct ticket_id from callbacks where completed_at is not null
    )
    select s.ticket_id, s.customer_name, s.mobile, s.phone, s.organisation,
           s.engineer_id, s.completed_at,
           (s.ticket_id in (select ticket_id from valid)) as reached,
           (s.key_account_id is not null or exists (select 1 from key_customers k
                   where k.name = s.organisation or k.name = s.customer_name)) as key
    from served s
    where s.completed_at is not null {scope}
      and ((s.completed_at >= $1 and s.completed_at < $2)
           or s.key_account_id is not null
           or exists (select 1 from key_customers k
                      where k.name = s.organisation or k.name = s.customer_name))
    order by s.completed_at, s.ticket_id
"""


TO_CALL = _fields(
    "ticket_id customer_name mobile phone organisation engineer_id served_at=completed_at"
    " key_customer=key reached"
)
# the customer's personal fields on the list, by what each holds (as the export names them)
TO_CALL_PERSONAL = {"customer_name": "name", "mobile": "mobile", "phone": "phone"}


async def morning_list(db: Any, pack: PolicyPack, day: date) -> dict[str, Any]:
    """FBK-2: everyone served in the week before `day` not yet reached, key customers,
    and the callbacks due by the end of the day."""
    start, end = local_day(day, pack.zone)
    week_start = start - timedelta(days=7)
    served = visibility.sql_filter(3, region="s.region", engineer="s.engineer_id")
    rows = await db.fetch(MORNING_LIST.format(scope=served.sql), week_start, start, *served.args)
    scope = visibility.sql_filter(2, region="s.region", engineer="c.engineer_id")
    due = await db.fetch(
        "select c.* from callbacks c left join served s using (ticket_id)"
        f" where c.status in ('due', 'scheduled') and c.due_at < $1{scope.sql}"
        " order by c.due_at, c.callback_id",
        end,
        *scope.args,
    )
    shown = visibility.disclosure()
    calls = [disclosed(_answer(r, TO_CALL), TO_CALL_PERSONAL, shown) for r in rows]
    week = [r for r in rows if week_start <= r["completed_at"] < start]
    reached = sum(1 for r in week if r["reached"])
    return {
        "on": day.isoformat(),
        "rule_ids": ["FBK-2"],
        "to_call": [c for c in calls if not c["reached"] or c["key_customer"]],
        "callbacks_due": [_callback(r) for r in due],
        "coverage": {
            "served_last_week": len(week),
            "reached": reached,
            "percent": percent(reached, len(week)),
            "target_percent": pack.followup.after_service.coverage_percent,
        },
    }


async def coverage(db: Any, pack: PolicyPack, from_: date, to: date) -> dict[str, Any]:
    """FBK-2: share of customers served in the range who were actually reached."""
    start, _ = local_day(from_, pack.zone)
    _, end = local_day(to, pack.zone)
    rows = await db.fetch(
        "select s.ticket_id, exists (select 1 from callbacks c where c.ticket_id ="
        " s.ticket_id and c.completed_at is not null) as reached from served s"
        " where s.completed_at >= $1 and s.completed_at < $2 order by s.ticket_id",
        start,
        end,
    )
    reached = [r["ticket_id"] for r in rows if r["reached"]]
    return {
        "from": from_.isoformat(),
        "to": to.isoformat(),
        "served": len(rows),
        "reached": len(reached),
        "percent": percent(len(reached), len(rows)),
        "target_percent": pack.followup.after_service.coverage_percent,
        "not_reached": [r["ticket_id"] for r in rows if not r["reached"]],
    }


async def key_customer(db: Any, name: str) -> dict[str, Any]:
    query = "select name, note from key_customers where name = $1"
    row = await fetch_one(db, f"no key customer {name}", query, name)
    return {"name": row["name"], "note": row["note"]}


CASE = _fields("case_id ticket_id reason engineer_id outlet_id event_id requested_at decision")


async def cases(db: Any, ticket_id: str | None) -> list[dict[str, Any]]:
    """FBK-5: dissatisfied cases that sent someone on site (of the caller's regions)."""
    scope = visibility.sql_filter(2, region="s.region", engineer="c.engineer_id")
    rows = await db.fetch(
        "select c.* from cases c left join served s using (ticket_id)"
        f" where ($1::text is null or c.ticket_id = $1){scope.sql} order by c.requested_at",
        ticket_id,
        *scope.args,
    )
    return [_answer(r, CASE) for r in rows]


# -- complaints (FBK-6) -------------------------------------------------------------------


def _complaint_status(r: Any) -> str:
    if r["verified"] is not None:
        return "verified" if r["verified"] else "dismissed"
    if r["answered_at"] is not None:
        return "answered"
    return "escalated" if r["escalated_at"] is not None else "open"


COMPLAINT = _fields(
    "complaint_id ticket_id channel kind description engineer_id outlet_id amount_paid_fen"
    " answer_by answered_at within_deadline escalated_at verified finding decision"
)


def _complaint(r: Any) -> dict[str, Any]:
    return {
        **_answer(r, COMPLAINT),
        "status": _complaint_status(r),
        "triggers": list(r["triggers"] or []),
    }


async def complaints(db: Any, ticket_id: str | None, kind: str | None) -> list[dict[str, Any]]:
    scope = visibility.sql_filter(3, region="s.region", engineer="p.engineer_id")
    rows = await db.fetch(
        "select p.* from complaints p left join served s using (ticket_id)"
        " where ($1::text is null or p.ticket_id = $1) and ($2::text is null or p.kind = $2)"
        f"{scope.sql} order by p.filed_at, p.complaint_id",
        ticket_id,
        kind,
        *scope.args,
    )
    return [_complaint(r) for r in rows]


async def complaint(db: Any, complaint_id: str) -> dict[str, Any]:
    query = (
        "select p.*, s.region from complaints p left join served s using (ticket_id)"
        " where p.complaint_id = $1"
    )
    missing = f"no complaint {complaint_id}"
    row = await fetch_one(db, missing, query, complaint_id)
    visibility.check(missing, row["region"], Owners(engineer_id=row["engineer_id"]))
    return _complaint(row)


# -- surveys (FBK-7) ----------------------------------------------------------------------


SAMPLE = _fields("year=survey_year percent population reason drawn_at")


def _sample(r: Any) -> dict[str, Any]:
    return {**_answer(r, SAMPLE), "sample": list(r["sample"]), "drawn": True, **_j(r["decision"])}


async def drawn_sample(db: Any, year: int) -> dict[str, Any]:
    """FBK-7: the year's drawn sample."""
    query = "select * from survey_samples where survey_year = $1"
    return _sample(await fetch_one(db, f"no survey sample drawn for {year}", query, year))


async def survey_sample(db: Any, pack: PolicyPack, year: int, share: int) -> dict[str, Any]:
    """FBK-7: the year's drawn sample; before it is drawn, a preview of it at `share` %."""
    row = await db.fetchrow("select * from survey_samples where survey_year = $1", year)
    if row is not None:
        return _sample(row)
    start, end = year_bounds(year, pack.zone)
    rows = await db.fetch(
        "select ticket_id from served where completed_at >= $1 and completed_at < $2",
        start,
        end,
    )
    ticket_ids = [r["ticket_id"] for r in rows]
    decided = surveys.survey_sample(pack, year=year, ticket_ids=ticket_ids, percent=share)
    return {**decided.model_dump(mode="json"), "drawn": False}


# -- the monthly callback report (FBK-7, PEN-8) -------------------------------------------

REPORT_KEYS = {
    "region": "s.region",
    "outlet": "coalesce(s.service_point_id, s.outlet_id)",
    "engineer": "s.engineer_id",
}
CALLBACK_FIGURES = """
    select coalesce({key}, '(unknown)') as key,
        count(*) as callbacks_due,
        count(*) filter (where c.completed_at is not null) as valid,
        coalesce(sum(c.attempts), 0) as not_reached,
        count(*) filter (where c.exhausted) as exhausted,
        count(*) filter (where c.grade = 'satisfied') as satisfied,
        count(*) filter (where c.grade = 'average') as average,
        count(*) filter (where c.grade = 'dissatisfied') as dissatisfied
    from callbacks c left join served s using (ticket_id)
    where c.fired_at >= $1 and c.fired_at < $2
    group by 1 order by 1
"""
COMPLAINT_FIGURES = """
    select coalesce({key}, '(unknown)') as key,
        count(*) as filed,
        count(*) filter (where p.verified) as verified,
        count(*) filter (where p.escalated_at is not null) as escalated
    from complaints p left join served s using (ticket_id)
    where p.filed_at >= $1 and p.filed_at < $2 group by 1
"""
REPORT_COLUMNS = [
    "callbacks_due",
    "valid_callbacks",
    "not_reached_attempts",
    "exhausted",
    "satisfied",
    "average",
    "dissatisfied",
    "satisfaction_percent",
    "complaints_filed",
    "complaints_verified",
    "complaints_escalated",
]
GRADES = ("satisfied", "average", "dissatisfied")


def _report_row(by: str, key: str, figures: Any, filed: Any) -> dict[str, Any]:
    f = figures or {"callbacks_due": 0, "valid": 0, "not_reached": 0, "exhausted": 0}
    grades = {g: figures[g] if figures else 0 for g in GRADES}
    return {
        by: key,
        "callbacks_due": f["callbacks_due"],
        "valid_callbacks": f["valid"],
        "not_reached_attempts": f["not_reached"],
        "exhausted": f["exhausted"],
        **grades,
        "satisfaction_percent": percent(grades["satisfied"], sum(grades.values())),
        "complaints_filed": filed["filed"] if filed else 0,
        "complaints_verified": filed["verified"] if filed else 0,
        "complaints_escalated": filed["escalated"] if filed else 0,
    }


async def callback_report(db: Any, pack: PolicyPack, month: str, by: str) -> list[dict]:
    """FBK-7: the month's callbacks and complaints per region, outlet or engineer."""
    year, mon = (int(p) for p in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=pack.zone)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=pack.zone)
    key = REPORT_KEYS[by]
    figures = await db.fetch(CALLBACK_FIGURES.format(key=key), start, end)
    complaint_key = key.replace("s.engineer_id", "p.engineer_id")
    filed = {
        r["key"]: r for r in await db.fetch(COMPLAINT_FIGURES.format(key=complaint_key), start, end)
    }
    rows = [_report_row(by, r["key"], r, filed.pop(r["key"], None)) for r in figures]
    rows += [_report_row(by, k, None, c) for k, c in filed.items()]
    return [
        row
        for row in rows
        if row["callbacks_due"]
        or row["valid_callbacks"]
        or row["complaints_filed"]
        or row["not_reached_attempts"]
    ]


def report_csv(rows: list[dict[str, Any]], by: str) -> str:
    columns = [by, *REPORT_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") if row.get(c) is not None else "" for c in columns])
    return out.getvalue()
