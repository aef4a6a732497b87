"""What intake's routes answer from its projections: read-only queries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from repairline_intake.projections import TicketView
from repairline_platform import visibility
from repairline_platform.asof import view_as_of
from repairline_platform.personal import disclosed
from repairline_platform.visibility import Owners
from repairline_rules.refusals import NotFound

# Columns of ticket_view that order its updates; not part of the answer.
_INTERNAL = ("status_at", "status_version", "status_event", "verified")


async def ticket_as_of(pool: asyncpg.Pool, ticket_id: str, moment: datetime) -> dict[str, Any]:
    """The ticket as it stood at `moment`: `ticket` over its events up to then."""
    return await view_as_of(pool, TicketView(), ticket_id, moment, lambda c: ticket(c, ticket_id))


async def ticket(pool: asyncpg.Pool | asyncpg.Connection, ticket_id: str) -> dict[str, Any]:
    """The ticket's current status, its facts and its timeline across all four services."""
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
