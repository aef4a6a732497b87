"""The reads billing's decisions need beyond their own stream, and the parked reactions.

`Store` is what the commands see (unit tests fake it); `PgStore` reads the projections
in the command's own transaction. Parking is the reactions' bookkeeping: a completion
seen before its request, an overcharge verified before the invoice, resumed later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from repairline_billing.domain import CALLBACK_COMPLETED, settlement
from repairline_billing.domain.assessment import AssessmentFact
from repairline_billing.domain.penalty import VerifiedComplaint
from repairline_billing.domain.pricing import (
    IntakeWarranty,
    PricingContext,
    PriorRepair,
    Reward,
    TicketFacts,
)
from repairline_billing.domain.settlement import (
    FineStanding,
    InvoiceEarned,
    PeriodItems,
    RefundPaid,
)
from repairline_contracts.billing import (
    ChargeAssessed,
    Evidence,
    SettlementLinesRecorded,
    SettlementStatementIssued,
)
from repairline_contracts.dispatch import SlaDeadlineBreached
from repairline_contracts.envelope import Envelope
from repairline_platform.db import lock_in_order
from repairline_platform.policy import Policy, policy_of
from repairline_rules.packs import PolicyPack
from repairline_rules.warranty import INSPECTION_DECISION_WAIT


@dataclass(frozen=True)
class ParkedCompletion:
    """A RepairCompleted that arrived before its RepairRequested, and its conversation."""

    ticket_id: str
    completed_at: datetime
    correlation_id: str
    causation_id: str
    parts_replaced: tuple[str, ...] = ()


@dataclass(frozen=True)
class Position:
    """Where a record lies on its topic."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class ParkedOvercharge:
    """A FEE-5 complaint verified before the ticket's invoice, and its conversation."""

    complaint: VerifiedComplaint
    correlation_id: str


class Store(Protocol):
    """What billing's commands read and park; `PgStore` and the unit tests' fake."""

    async def ticket(self, ticket_id: str) -> tuple[TicketFacts, str] | None: ...

    async def region(self, ticket_id: str) -> str | None: ...

    async def policy(self, ticket_id: str) -> Policy | None:
        """The pack and version the ticket was opened under (None until its request)."""
        ...

    async def intake_version(self, ticket_id: str) -> int:
        """The latest version of the intake ticket billing has seen (0: none yet)."""
        ...

    async def decided_on(self, ticket_id: str, cause_id: str, now: datetime) -> bool:
        """Has billing seen intake's warranty decision caused by this event (an
        inspection), or need it not wait for one (`inspection_pending`)?"""
        ...

    async def pricing(self, facts: TicketFacts, pack: PolicyPack) -> PricingContext: ...

    async def outlet_of(self, ticket_id: str, engineer_id: str | None) -> str | None: ...

    async def invoice(self, ticket_id: str) -> tuple[int, str] | None: ...

    async def earlier_complaints(
        self, engineer_id: str, penalty_id: str
    ) -> list[tuple[str, datetime]]: ...

    async def earlier_misses(self, engineer_id: str, penalty_id: str) -> list[datetime]: ...

    async def unreachable_records(self, engineer_id: str) -> list[tuple[str, str, datetime]]: ...

    async def period_items(self, outlet_id: str, start: datetime, end: datetime) -> PeriodItems: ...

    async def earlier_statements(self, outlet_id: str) -> list[SettlementStatementIssued]: ...

    async def assessment_facts(
        self, engineer_id: str, start: datetime, end: datetime
    ) -> list[AssessmentFact]: ...

    async def park_completion(self, parked: ParkedCompletion) -> None: ...

    async def resume_completion(self, ticket_id: str) -> ParkedCompletion | None: ...

    async def warranty_pending(self, ticket_id: str) -> bool:
        """Whether the ticket's request said a warranty decision follows it and that
        decision has not arrived yet (FEE-1, INT-5, WAR-4)."""
        ...

    async def inspection_pending(self, ticket_id: str, now: datetime) -> bool:
        """Whether an inspection of the ticket, made less than `INSPECTION_DECISION_WAIT`
        before `now`, has no warranty decision caused by it yet, on a ticket intake has not
        closed (WAR-4: intake will decide on it)."""
        ...

    async def wait_for_warranty(self, ticket_id: str, request: Position) -> bool:
        """The completion parked for this ticket (True if there is one) waits for the record
        after its request: intake records the warranty decision, if any, right after it."""
        ...

    async def resume_after(self, last: Position) -> list[ParkedCompletion]:
        """The parked completions whose request lies before `last` on its partition."""
        ...

    async def hold_invoice(self, ticket_id: str) -> None:
        """FEE-5: until the unit ends, no other unit writes the ticket's invoice and
        resumes its waiting overcharges, or judges an overcharge against it: a complaint
        judged while the invoice is being written waits for it, instead of parking after
        the invoice has looked for what waits."""
        ...

    async def park_overcharge(self, parked: ParkedOvercharge) -> None: ...

    async def resume_overcharges(self, ticket_id: str) -> list[ParkedOvercharge]: ...


@dataclass
class PgStore:
    """The reads of one unit of work, on its connection."""

    conn: asyncpg.Connection

    async def intake_version(self, ticket_id: str) -> int:
        query = "select version from intake_versions where ticket_id = $1"
        return await self.conn.fetchval(query, ticket_id) or 0

    async def decided_on(self, ticket_id: str, cause_id: str, now: datetime) -> bool:
        since = now - INSPECTION_DECISION_WAIT
        return bool(await self.conn.fetchval(_DECIDED_ON, ticket_id, cause_id, since))

    async def ticket(self, ticket_id: str) -> tuple[TicketFacts, str] | None:
        """The ticket's facts and region, or None until its RepairRequested has arrived."""
        row = await self.conn.fetchrow(_TICKET, ticket_id)
        if row is None:
            return None
        facts = TicketFacts(
            ticket_id=ticket_id,
            product_line=row["product_line"],
            city_tier=row["city_tier"],
            service_mode=row["service_mode"],
            purchase_date=row["purchase_date"],
            serial_no=row["serial_no"],
            requested_on=None,
            engineer_id=row["engineer_id"],
            outlet_id=await self._outlet(row["engineer_id"], row["service_point_id"]),
            intake_warranty=_intake_warranty(row),
        )
        return facts, row["region"]

    async def region(self, ticket_id: str) -> str | None:
        return await self.conn.fetchval(
            "select region from billing_tickets where ticket_id = $1", ticket_id
        )

    async def policy(self, ticket_id: str) -> Policy | None:
        row = await self.conn.fetchrow(
            "select policy_pack, policy_version from billing_tickets where ticket_id = $1",
            ticket_id,
        )
        return policy_of(row["policy_pack"], row["policy_version"]) if row else None

    async def _outlet(self, engineer_id: str | None, service_point: str | None) -> Any:
        """FEE-6: the outlet credited: the assignment's service point, else the roster's."""
        if service_point:
            return service_point
        if engineer_id is None:
            return None
        return await self.conn.fetchval(
            "select outlet_id from engineer_outlets where engineer_id = $1", engineer_id
        )

    async def outlet_of(self, ticket_id: str, engineer_id: str | None) -> str | None:
        row = await self.conn.fetchrow(
            "select engineer_id, service_point_id from ticket_assignments where ticket_id = $1",
            ticket_id,
        )
        service_point = row["service_point_id"] if row else None
        return await self._outlet(
            engineer_id or (row["engineer_id"] if row else None), service_point
        )

    async def pricing(self, facts: TicketFacts, pack: PolicyPack) -> PricingContext:
        """WAR-10 history, WAR-11 reward and FEE-8 contract for the ticket's unit."""
        requested_at = await self.conn.fetchval(
            "select requested_at from billing_tickets where ticket_id = $1", facts.ticket_id
        )
        if requested_at is not None:
            facts = replace(facts, requested_on=requested_at.astimezone(pack.zone).date())
        if not facts.serial_no:
            return PricingContext(facts)
        # WAR-10, WAR-11: one decision at a time reads the unit's invoices and rewards, so
        # two replicas never both spend its last free repair
        await lock_in_order(self.conn, "unit", [facts.serial_no])
        return PricingContext(
            facts,
            prior=await self._prior(facts, pack),
            reward=await self._reward(facts),
            contract_start=await self.conn.fetchval(
                "select max(starts_on) from contracts where serial_no = $1", facts.serial_no
            ),
        )

    async def _prior(self, facts: TicketFacts, pack: PolicyPack) -> tuple[PriorRepair, ...]:
        rows = await self.conn.fetch(
            "select c.ticket_id, c.inputs from charges c join billing_tickets b using (ticket_id)"
            " where b.serial_no = $1 and c.ticket_id <> $2",
            facts.serial_no,
            facts.ticket_id,
        )
        return tuple(_prior_repair(r["ticket_id"], json.loads(r["inputs"]), pack) for r in rows)

    async def _reward(self, facts: TicketFacts) -> Reward | None:
        """WAR-11: the reward held for the unit; free repairs used by the unit's other
        invoices (a WAR-11 line each) are spent, in the order they were granted."""
        found = await self.conn.fetchrow(_REWARD, facts.serial_no, facts.ticket_id)
        if found is None:
            return None
        return Reward(found["reward"], found["extended_ends_on"], found["reason"])

    async def invoice(self, ticket_id: str) -> tuple[int, str] | None:
        """The ticket's invoice total and the ChargeAssessed event id, once invoiced."""
        row = await self.conn.fetchrow(
            "select total_fen, event_id from charges where ticket_id = $1", ticket_id
        )
        return (row["total_fen"], row["event_id"]) if row else None

    async def earlier_complaints(
        self, engineer_id: str, penalty_id: str
    ) -> list[tuple[str, datetime]]:
        """PEN-1: (kind, verified at) of the engineer's other standing complaint fines."""
        rows = await self.conn.fetch(
            "select kind, offence_at from penalties where engineer_id = $1"
            " and 'PEN-1' = any(rule_ids) and status <> 'voided' and penalty_id <> $2",
            engineer_id,
            penalty_id,
        )
        return [(r["kind"], r["offence_at"]) for r in rows]

    async def earlier_misses(self, engineer_id: str, penalty_id: str) -> list[datetime]:
        """PEN-7: when the engineer's other standing missed appointments were."""
        rows = await self.conn.fetch(
            "select offence_at from penalties where engineer_id = $1"
            " and 'PEN-7' = any(rule_ids) and status <> 'voided' and penalty_id <> $2",
            engineer_id,
            penalty_id,
        )
        return [r["offence_at"] for r in rows]

    async def unreachable_records(self, engineer_id: str) -> list[tuple[str, str, datetime]]:
        """PEN-6: (event id, ticket id, recorded at) of the engineer's unreachable records."""
        rows = await self.conn.fetch(
            "select envelope from events where stream_id = $1 order by stream_version",
            f"staff:{engineer_id}",
        )
        stored = [Envelope.model_validate_json(r["envelope"]) for r in rows]
        return [(env.id, env.subject, env.time) for env in stored]

    async def period_items(self, outlet_id: str, start: datetime, end: datetime) -> PeriodItems:
        """FEE-6: the outlet's invoices, refunds and standing fines in [start, end)."""
        args = (outlet_id, start, end)
        return PeriodItems(
            invoices=tuple(_earned(r) for r in await self.conn.fetch(_INVOICES, *args)),
            refunds=tuple(_refund(r) for r in await self.conn.fetch(_REFUNDS, *args)),
            fines=tuple(_fine(r) for r in await self.conn.fetch(_FINES, *args)),
        )

    async def earlier_statements(self, outlet_id: str) -> list[SettlementStatementIssued]:
        """FEE-6: the outlet's statements issued so far, from the event store."""
        prefix = f"settlement:{outlet_id}:"
        rows = await self.conn.fetch(
            "select envelope from events where event_type = any($1::text[])"
            " and left(stream_id, $2) = $3 order by global_position",
            [SettlementStatementIssued.event_type, SettlementLinesRecorded.event_type],
            len(prefix),
            prefix,
        )
        events = [Envelope.model_validate_json(r["envelope"]).event() for r in rows]
        recorded = [e for e in events if isinstance(e, SettlementLinesRecorded)]
        return [
            settlement.with_lines(e, recorded)
            for e in events
            if isinstance(e, SettlementStatementIssued)
        ]

    async def assessment_facts(
        self, engineer_id: str, start: datetime, end: datetime
    ) -> list[AssessmentFact]:
        """PEN-8: what billing holds about the engineer in [start, end), with its proof."""
        args = (engineer_id, start, end)
        counted = [_counted(r) for r in await self.conn.fetch(_COUNTED_PENALTIES, *args)]
        return [
            *[fact for fact in counted if fact is not None],
            *[_repeat_failure(r) for r in await self.conn.fetch(_REPEAT_FAILURES, *args)],
            *[_graded(r) for r in await self.conn.fetch(_CALLBACK_GRADES, *args)],
            *[_breached(r) for r in await self.conn.fetch(_SLA_BREACHES, *args)],
        ]

    async def park_completion(self, parked: ParkedCompletion) -> None:
        await self.conn.execute(
            "insert into parked_completions (ticket_id, completed_at, correlation_id,"
            " causation_id, parts_replaced) values ($1, $2, $3, $4, $5)"
            " on conflict (ticket_id) do nothing",
            parked.ticket_id,
            parked.completed_at,
            parked.correlation_id,
            parked.causation_id,
            list(parked.parts_replaced),
        )

    async def resume_completion(self, ticket_id: str) -> ParkedCompletion | None:
        row = await self.conn.fetchrow(
            "delete from parked_completions where ticket_id = $1 returning *", ticket_id
        )
        return _parked(row) if row is not None else None

    async def warranty_pending(self, ticket_id: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "select b.warranty_follows and w.ticket_id is null from billing_tickets b"
                " left join ticket_warranty w using (ticket_id) where b.ticket_id = $1",
                ticket_id,
            )
        )

    async def inspection_pending(self, ticket_id: str, now: datetime) -> bool:
        query = f"select {_INSPECTION_PENDING}"
        return bool(await self.conn.fetchval(query, ticket_id, now - INSPECTION_DECISION_WAIT))

    async def wait_for_warranty(self, ticket_id: str, request: Position) -> bool:
        status = await self.conn.execute(
            "update parked_completions set after_topic = $2, after_partition = $3,"
            " after_offset = $4 where ticket_id = $1",
            ticket_id,
            request.topic,
            request.partition,
            request.offset,
        )
        return status == "UPDATE 1"

    async def resume_after(self, last: Position) -> list[ParkedCompletion]:
        rows = await self.conn.fetch(
            "delete from parked_completions where after_topic = $1 and after_partition = $2"
            " and after_offset < $3 returning *",
            last.topic,
            last.partition,
            last.offset,
        )
        return [_parked(r) for r in rows]

    async def hold_invoice(self, ticket_id: str) -> None:
        await lock_in_order(self.conn, "invoice", [ticket_id])

    async def park_overcharge(self, parked: ParkedOvercharge) -> None:
        c = parked.complaint
        data = {**vars(c), "verified_at": c.verified_at.isoformat()}
        await self.conn.execute(
            "insert into parked_overcharges values ($1, $2, $3::jsonb, $4) on conflict do nothing",
            c.complaint_id,
            c.ticket_id,
            json.dumps(data),
            parked.correlation_id,
        )

    async def resume_overcharges(self, ticket_id: str) -> list[ParkedOvercharge]:
        rows = await self.conn.fetch(
            "delete from parked_overcharges where ticket_id = $1 returning *", ticket_id
        )
        return [
            ParkedOvercharge(_complaint(json.loads(r["data"])), r["correlation_id"]) for r in rows
        ]


def _parked(row: asyncpg.Record) -> ParkedCompletion:
    return ParkedCompletion(
        row["ticket_id"],
        row["completed_at"],
        row["correlation_id"],
        row["causation_id"],
        tuple(row["parts_replaced"] or ()),
    )


def _pending(since: str) -> str:
    """WAR-4: inspection `i` of ticket $1, made after `since`, has no decision caused by it
    and intake has not closed the ticket."""
    return f"""i.inspected_at > {since}
    and not exists (
        select 1 from warranty_causes c where c.ticket_id = $1 and c.cause_id = i.event_id
    )
    and not exists (select 1 from intake_versions v where v.ticket_id = $1 and v.closed)"""


# an inspection of ticket $1 pending since $2
_INSPECTION_PENDING = f"""exists (
    select 1 from ticket_inspections i where i.ticket_id = $1 and {_pending("$2")}
  )"""
# inspection $2 of ticket $1 needs no further wait (pending since $3): its decision is
# held; or billing saw it and it is not pending; or billing never saw it and holds a
# decision of the ticket but no cause of any (a copy from before causes were kept, or a
# decision applied by the previous version during an upgrade)
_DECIDED_ON = f"""select exists (
    select 1 from warranty_causes where ticket_id = $1 and cause_id = $2
  ) or coalesce((
    select not ({_pending("$3")}) from ticket_inspections i
    where i.ticket_id = $1 and i.event_id = $2
  ), exists (select 1 from ticket_warranty where ticket_id = $1)
     and not exists (select 1 from warranty_causes where ticket_id = $1))"""

_TICKET = (
    "select b.*, a.engineer_id, a.service_point_id, w.unit_in_warranty, w.free_visit,"
    " w.chargeable, w.reason as warranty_reason, w.exclusions, w.start_date,"
    " w.start_source, w.days_paused"
    " from billing_tickets b"
    " left join ticket_assignments a using (ticket_id)"
    " left join ticket_warranty w using (ticket_id)"
    " where b.ticket_id = $1"
)
_REWARD = """
    with spent as (
        select count(*) as n from charges c join billing_tickets b using (ticket_id)
        where b.serial_no = $1 and c.ticket_id <> $2
          and c.lines @> '[{"rule_id": "WAR-11"}]'::jsonb
    ), free as (
        select event_id, row_number() over (order by event_id) as k
        from rewards where serial_no = $1 and reward = 'free_repair'
    )
    select r.* from rewards r left join free f using (event_id)
    where r.serial_no = $1 and (f.k is null or f.k > (select n from spent))
    order by r.extended_ends_on desc nulls last, r.event_id limit 1
"""
_INVOICES = "select * from charges where outlet_id = $1 and assessed_at >= $2 and assessed_at < $3"
_REFUNDS = "select * from refunds where outlet_id = $1 and refunded_at >= $2 and refunded_at < $3"
_FINES = (
    "select * from penalties where outlet_id = $1 and assessed_at >= $2"
    " and assessed_at < $3 and status <> 'voided' and fine_fen > 0"
)
_COUNTED_PENALTIES = (
    "select * from penalties where engineer_id = $1 and offence_at >= $2"
    " and offence_at < $3 and status <> 'voided'"
    " and ('PEN-1' = any(rule_ids) or 'PEN-7' = any(rule_ids))"
)
# WAR-10: a repair of this engineer that failed again and was repaired free
_REPEAT_FAILURES = (
    "select c.event_id, c.ticket_id, c.inputs->>'free_reason' as why from charges c"
    " join billing_tickets b using (ticket_id)"
    " where c.assessed_at >= $2 and c.assessed_at < $3"
    " and c.inputs->>'free_reason' like 'WAR-10%'"
    " and $1 = (select p.engineer_id from charges p join billing_tickets pb"
    "   using (ticket_id) where pb.serial_no = b.serial_no and p.ticket_id <> c.ticket_id"
    "   and p.assessed_at < c.assessed_at order by p.assessed_at desc limit 1)"
)
_CALLBACK_GRADES = (
    "select * from callback_grades where engineer_id = $1 and completed_at >= $2"
    " and completed_at < $3"
)
# PEN-8: a DSP-3 deadline missed on a ticket the engineer holds
_SLA_BREACHES = (
    "select s.* from sla_breaches s join ticket_assignments a using (ticket_id)"
    " where a.engineer_id = $1 and s.detected_at >= $2 and s.detected_at < $3"
)
_COMPLAINT_KINDS = {
    "attitude": "attitude_complaints",
    "quality": "quality_complaints",
    "lateness": "lateness_complaints",
}


def _intake_warranty(row: Any) -> IntakeWarranty | None:
    if row["unit_in_warranty"] is None:
        return None
    return IntakeWarranty(
        unit_in_warranty=row["unit_in_warranty"],
        free_visit=row["free_visit"],
        chargeable=row["chargeable"],
        reason=row["warranty_reason"],
        exclusions=tuple(row["exclusions"] or ()),
        start_date=row["start_date"],
        start_source=row["start_source"],
        days_paused=row["days_paused"] or 0,
    )


def _prior_repair(ticket_id: str, inputs: dict[str, Any], pack: PolicyPack) -> PriorRepair:
    completed = datetime.fromisoformat(inputs["completed_at"]).astimezone(pack.zone)
    return PriorRepair(
        ticket_id=ticket_id,
        completed_on=completed.date(),
        out_of_warranty=not inputs["unit_in_warranty"],
        parts=frozenset(p["code"] for p in inputs.get("parts", [])),
    )


def _earned(r: Any) -> InvoiceEarned:
    return InvoiceEarned(r["event_id"], r["ticket_id"], r["total_fen"], r["invoice_no"])


def _refund(r: Any) -> RefundPaid:
    return RefundPaid(r["complaint_id"], r["ticket_id"], r["refund_fen"])


def _fine(r: Any) -> FineStanding:
    return FineStanding(
        penalty_id=r["penalty_id"],
        ticket_id=r["ticket_id"],
        fine_fen=r["fine_fen"],
        rule_ids=tuple(r["rule_ids"] or ()),
        subject=r["subject"],
        engineer_id=r["engineer_id"],
        reason=r["reason"],
    )


def _complaint(data: dict[str, Any]) -> VerifiedComplaint:
    return VerifiedComplaint(
        complaint_id=data["complaint_id"],
        ticket_id=data["ticket_id"],
        kind=data["kind"],
        engineer_id=data.get("engineer_id"),
        outlet_id=data.get("outlet_id"),
        amount_paid_fen=data.get("amount_paid_fen"),
        verified_at=datetime.fromisoformat(data["verified_at"]),
        event_id=data["event_id"],
    )


def _counted(r: Any) -> AssessmentFact | None:
    if "PEN-7" in (r["rule_ids"] or []):
        kind = "missed_appointments"
    elif r["kind"] in _COMPLAINT_KINDS:
        kind = _COMPLAINT_KINDS[r["kind"]]
    else:
        return None
    evidence = r["evidence"]
    proof = (json.loads(evidence) if isinstance(evidence, str) else evidence)[0]
    return AssessmentFact(kind, Evidence(**proof))


def _repeat_failure(r: Any) -> AssessmentFact:
    return AssessmentFact(
        "repeat_failures",
        Evidence(
            event_id=r["event_id"],
            event_type=ChargeAssessed.event_type,
            ticket_id=r["ticket_id"],
            note=r["why"],
        ),
    )


def _breached(r: Any) -> AssessmentFact:
    return AssessmentFact(
        "sla_breaches",
        Evidence(
            event_id=r["event_id"],
            event_type=SlaDeadlineBreached.event_type,
            ticket_id=r["ticket_id"],
            note=f"DSP-3 {r['deadline']} deadline missed",
        ),
    )


def _graded(r: Any) -> AssessmentFact:
    return AssessmentFact(
        r["grade"],
        Evidence(
            event_id=r["event_id"],
            event_type=CALLBACK_COMPLETED,
            ticket_id=r["ticket_id"],
            note=f"callback graded {r['grade']}",
        ),
    )
