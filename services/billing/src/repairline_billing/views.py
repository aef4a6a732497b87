"""What billing's routes answer: read-only queries over the projections."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from repairline_billing.domain import yuan
from repairline_platform import visibility
from repairline_platform.auth import current_principal
from repairline_platform.reads import Db, fetch_one
from repairline_platform.reads import json_value as _j
from repairline_platform.visibility import Owners
from repairline_rules.refusals import NotFound


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _answer(
    row: Any, plain: tuple[str, ...], documents: tuple[str, ...] = (), times: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A row as JSON: plain columns as they are, JSON documents parsed, times in ISO 8601."""
    return {
        **{c: row[c] for c in plain},
        **{c: _j(row[c]) for c in documents},
        **{c: _iso(row[c]) for c in times},
    }


CHARGE = (
    "ticket_id",
    "invoice_no",
    "total_fen",
    "currency",
    "quote_id",
    "matches_quote",
    "quote_note",
    "engineer_id",
    "outlet_id",
    "event_id",
)
QUOTE = (
    "quote_id",
    "ticket_id",
    "engineer_id",
    "status",
    "total_fen",
    "needs_customer_agreement",
    "refusal_reason",
)
PENALTY = (
    "penalty_id",
    "ticket_id",
    "subject",
    "engineer_id",
    "outlet_id",
    "fine_fen",
    "sanction",
    "payee",
    "reason",
    "kind",
    "status",
    "appeal_reason",
    "manager_id",
    "ruling_reason",
    "event_id",
)
STATEMENT = (
    "statement_id",
    "outlet_id",
    "period",
    "fees_fen",
    "refunds_fen",
    "fines_fen",
    "credits_fen",
    "net_fen",
    "event_id",
)
ASSESSMENT = (
    "engineer_id",
    "period",
    "attitude",
    "quality",
    "efficiency",
    "satisfaction",
    "total",
    "band",
    "reason",
    "event_id",
)


def _charge(row: Any) -> dict[str, Any]:
    """An invoice; one credited to no outlet says it has none to settle to (FEE-6)."""
    answer = _answer(row, CHARGE, ("lines", "inputs", "decision"), ("assessed_at",))
    return {**answer, "no_outlet_to_settle_to": answer["outlet_id"] is None}


def _quote(row: Any) -> dict[str, Any]:
    return _answer(row, QUOTE, ("lines", "inputs", "decision"), ("issued_at", "decided_at"))


def _penalty(row: Any) -> dict[str, Any]:
    answer = _answer(row, PENALTY, ("evidence", "decision"), ("offence_at", "assessed_at"))
    return {**answer, "rule_ids": list(row["rule_ids"] or [])}


def _statement(row: Any) -> dict[str, Any]:
    times = ("voucher_received_on", "pay_by", "issued_at")
    return _answer(row, STATEMENT, ("lines", "decision"), times)


def _assessment(row: Any) -> dict[str, Any]:
    documents = ("counts", "evidence", "decision")
    return _answer(row, ASSESSMENT, documents, ("assessed_at",))


ASSESSMENT_COUNTS = (
    "attitude_complaints",
    "quality_complaints",
    "repeat_failures",
    "missed_appointments",
    "lateness_complaints",
    "sla_breaches",
    "satisfied",
    "average",
    "dissatisfied",
)


def assessments_csv(assessments: list[dict[str, Any]]) -> str:
    """PEN-8 assessments as CSV: one row per engineer and month, scores and counts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    scores = ("attitude", "quality", "efficiency", "satisfaction", "total")
    writer.writerow(["engineer_id", "period", *scores, "band", *ASSESSMENT_COUNTS, "rule_ids"])
    for a in assessments:
        writer.writerow(
            [
                a["engineer_id"],
                a["period"],
                *(a[k] for k in scores),
                a["band"],
                *(a["counts"][k] for k in ASSESSMENT_COUNTS),
                " ".join(a["decision"]["rule_ids"]),
            ]
        )
    return out.getvalue()


def statement_csv(statement: dict[str, Any]) -> str:
    """A settlement statement as CSV: yuan with two decimals, computed from fen."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "outlet_id",
            "period",
            "kind",
            "ticket_id",
            "ref_id",
            "rule_id",
            "description",
            "amount_yuan",
        ]
    )
    for line in statement["lines"]:
        writer.writerow(
            [
                statement["outlet_id"],
                statement["period"],
                line["kind"],
                line["ticket_id"],
                line["ref_id"],
                line["rule_id"],
                line["description"],
                yuan(line["amount_fen"]),
            ]
        )
    for label, key, sign in (
        ("fees", "fees_fen", 1),
        ("refunds", "refunds_fen", -1),
        ("fines", "fines_fen", -1),
        ("credits", "credits_fen", 1),
        ("net", "net_fen", 1),
    ):
        writer.writerow(
            [
                statement["outlet_id"],
                statement["period"],
                f"total:{label}",
                "",
                "",
                "FEE-6",
                f"pay by {statement['pay_by']}",
                yuan(sign * statement[key]),
            ]
        )
    return out.getvalue()


# -- quotes and invoices (FEE-4) ----------------------------------------------------------


async def charge(db: Db, ticket_id: str) -> dict[str, Any]:
    """The invoice of a completed repair, itemised, with the rules that decided it."""
    missing = f"no charge assessed for ticket {ticket_id}"
    query = f"select c.*, t.region from charges c {_TICKET} where c.ticket_id = $1"
    row = await fetch_one(db, missing, query, ticket_id)
    visibility.check(missing, row["region"])
    return _charge(row)


# a billing row's ticket, for its region
_TICKET = "left join billing_tickets t using (ticket_id)"


_ASSIGNED = "left join ticket_assignments a using (ticket_id)"


async def quotes(db: Db, ticket_id: str) -> list[dict[str, Any]]:
    """The ticket's quotes; none for a ticket outside the caller's regions (an engineer:
    of a job not assigned to him)."""
    scope = visibility.sql_filter(2, region="t.region", engineer="a.engineer_id")
    rows = await db.fetch(
        f"select q.* from quotes q {_TICKET} {_ASSIGNED} where q.ticket_id = $1{scope.sql}"
        " order by q.issued_at",
        ticket_id,
        *scope.args,
    )
    return [_quote(r) for r in rows]


async def quote(db: Db, quote_id: str) -> dict[str, Any]:
    query = (
        f"select q.*, t.region, a.engineer_id as assigned_engineer_id from quotes q {_TICKET}"
        f" {_ASSIGNED} where q.quote_id = $1"
    )
    row = await fetch_one(db, f"no quote {quote_id}", query, quote_id)
    owners = Owners(engineer_id=row["assigned_engineer_id"])
    visibility.check(f"no quote {quote_id}", row["region"], owners)
    return _quote(row)


# -- the penalty ledger (PEN-1..7, FEE-5) --------------------------------------------------


async def penalties(
    db: Db,
    *,
    engineer_id: str | None = None,
    outlet_id: str | None = None,
    ticket_id: str | None = None,
    rule_id: str | None = None,
) -> list[dict[str, Any]]:
    """The penalties of the caller's regions (an engineer's own), oldest offence first."""
    scope = visibility.sql_filter(5, region="t.region", engineer="p.engineer_id")
    rows = await db.fetch(
        f"select p.* from penalties p {_TICKET} where ($1::text is null or p.engineer_id = $1)"
        " and ($2::text is null or p.outlet_id = $2) and ($3::text is null or p.ticket_id = $3)"
        f" and ($4::text is null or $4 = any(p.rule_ids)){scope.sql}"
        " order by p.offence_at, p.penalty_id",
        engineer_id,
        outlet_id,
        ticket_id,
        rule_id,
        *scope.args,
    )
    return [_penalty(r) for r in rows]


async def penalty(db: Db, penalty_id: str) -> dict[str, Any]:
    query = f"select p.*, t.region from penalties p {_TICKET} where p.penalty_id = $1"
    row = await fetch_one(db, f"no penalty {penalty_id}", query, penalty_id)
    visibility.check(
        f"no penalty {penalty_id}", row["region"], Owners(engineer_id=row["engineer_id"])
    )
    return _penalty(row)


LEDGER_KEYS = ("engineer_id", "outlet_id")


async def ledger(db: Db, column: str, key: str) -> dict[str, Any]:
    """The penalties of an engineer or an outlet, standing and voided, with escalations.
    An outlet's own fines (FEE-5) name the engineer as evidence but are not his."""
    assert column in LEDGER_KEYS
    own = " and p.subject is distinct from 'outlet'" if column == "engineer_id" else ""
    scope = visibility.sql_filter(2, region="t.region", engineer="p.engineer_id")
    rows = await db.fetch(
        f"select p.* from penalties p {_TICKET} where p.{column} = $1{own}{scope.sql}"
        " order by p.offence_at, p.penalty_id",
        key,
        *scope.args,
    )
    entries = [_penalty(r) for r in rows]
    standing = [e for e in entries if e["status"] != "voided"]
    return {
        column: key,
        "fines_fen": sum(e["fine_fen"] or 0 for e in standing),
        "standing": len(standing),
        "voided": len(entries) - len(standing),
        "escalations": [
            {"penalty_id": e["penalty_id"], "sanction": e["sanction"], "reason": e["reason"]}
            for e in standing
            if e["sanction"] in ("dismissal", "demotion_or_dismissal")
            or (e["reason"] or "").startswith("repeat offence")
        ],
        "entries": entries,
    }


REFUND_FIELDS = (
    "complaint_id",
    "ticket_id",
    "outlet_id",
    "charged_fen",
    "tariff_fen",
    "refund_fen",
    "event_id",
)


async def refunds(db: Db, ticket_id: str | None) -> list[dict[str, Any]]:
    scope = visibility.sql_filter(2, region="t.region")
    rows = await db.fetch(
        f"select r.* from refunds r {_TICKET} where ($1::text is null or r.ticket_id = $1)"
        f"{scope.sql} order by r.refunded_at",
        ticket_id,
        *scope.args,
    )
    return [
        {
            **{k: r[k] for k in REFUND_FIELDS},
            "evidence": _j(r["evidence"]),
            "decision": _j(r["decision"]),
            "refunded_at": r["refunded_at"].isoformat(),
        }
        for r in rows
    ]


# -- outlets and settlement (FEE-6) --------------------------------------------------------


async def outlets(db: Db) -> list[dict[str, Any]]:
    scope = visibility.sql_filter(1, region="o.region")
    rows = await db.fetch(
        "select o.*, coalesce(array_agg(e.engineer_id order by e.engineer_id)"
        " filter (where e.engineer_id is not null), '{}') as engineer_ids"
        " from outlets o left join engineer_outlets e using (outlet_id)"
        f" where true{scope.sql} group by o.outlet_id order by o.outlet_id",
        *scope.args,
    )
    return [
        {
            "outlet_id": r["outlet_id"],
            "name": r["name"],
            "region": r["region"],
            "engineer_ids": list(r["engineer_ids"]),
        }
        for r in rows
    ]


async def statement(db: Db, outlet_id: str, period: str) -> dict[str, Any]:
    missing = f"no {period} statement for outlet {outlet_id}"
    query = (
        "select s.*, o.region from settlements s left join outlets o using (outlet_id)"
        " where s.outlet_id = $1 and s.period = $2"
    )
    row = await fetch_one(db, missing, query, outlet_id, period)
    visibility.check(missing, row["region"])
    return _statement(row)


# -- trips (FEE-7) and assessments (PEN-8) -------------------------------------------------

TRIP_FIELDS = (
    "trip_id",
    "ticket_id",
    "engineer_id",
    "trip_days",
    "meals_fen",
    "hotel_fen",
    "total_fen",
    "reason",
)


async def _sees_engineer(db: Db, engineer_id: str) -> bool:
    """Whether the caller may see the engineer's records: the region of his outlet, his
    own when an engineer reads them."""
    region = await db.fetchval(
        "select o.region from engineer_outlets e join outlets o using (outlet_id)"
        " where e.engineer_id = $1",
        engineer_id,
    )
    return visibility.admits(current_principal(), region, Owners(engineer_id=engineer_id))


async def trips(db: Db, engineer_id: str) -> list[dict[str, Any]]:
    """FEE-7: the engineer's trips; none for an engineer outside the caller's scope."""
    if not await _sees_engineer(db, engineer_id):
        return []
    rows = await db.fetch(
        "select * from trips where engineer_id = $1 order by departed_at", engineer_id
    )
    return [
        {
            **{k: r[k] for k in TRIP_FIELDS},
            "departed_at": r["departed_at"].isoformat(),
            "returned_at": r["returned_at"].isoformat(),
            "decision": _j(r["decision"]),
        }
        for r in rows
    ]


async def assessments(db: Db, engineer_id: str, period: str | None) -> list[dict[str, Any]]:
    """PEN-8: the engineer's assessment of `period` (all months without it); none for an
    engineer outside the caller's scope."""
    rows = (
        []
        if not await _sees_engineer(db, engineer_id)
        else await db.fetch(
            "select * from assessments where engineer_id = $1"
            " and ($2::text is null or period = $2) order by period",
            engineer_id,
            period,
        )
    )
    found = [_assessment(r) for r in rows]
    if period is not None and not found:
        raise NotFound(f"no {period} assessment for engineer {engineer_id}")
    return found
