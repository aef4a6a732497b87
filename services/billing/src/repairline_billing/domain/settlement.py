"""FEE-6 settlement statements (stream `settlement:<outlet>:<period>`). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from repairline_contracts.base import Decision, Event, pages
from repairline_contracts.billing import (
    SettlementLine,
    SettlementLinesRecorded,
    SettlementStatementIssued,
)
from repairline_rules import fees
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import IllegalTransition

# -- settlement and travel ---------------------------------------------------------------


def period_bounds(pack: PolicyPack, period: str) -> tuple[datetime, datetime]:
    """A `YYYY-MM` month in the pack's time zone, as [start, end)."""
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=pack.zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=pack.zone)
    return start, end


def decide_statement(
    pack: PolicyPack,
    *,
    outlet_id: str,
    period: str,
    lines: Sequence[SettlementLine],
    voucher_received_on: date,
    now: datetime,
) -> SettlementStatementIssued:
    """FEE-6: fees earned minus refunds and fines, plus credits for fines voided after
    an earlier statement deducted them; paid within 60 days of the voucher."""
    due = fees.settlement_due(pack, voucher_received_on=voucher_received_on)
    fees_fen = sum(line.amount_fen for line in lines if line.kind == "fee")
    refunds = -sum(line.amount_fen for line in lines if line.kind == "refund")
    fines = -sum(line.amount_fen for line in lines if line.kind == "fine")
    credits = sum(line.amount_fen for line in lines if line.kind == "credit")
    ordered = tuple(sorted(lines, key=lambda line: (line.kind, line.ticket_id, line.ref_id)))
    return SettlementStatementIssued(
        ticket_id=f"outlet:{outlet_id}",
        statement_id=f"{outlet_id}:{period}",
        outlet_id=outlet_id,
        period=period,
        fees_fen=fees_fen,
        refunds_fen=refunds,
        fines_fen=fines,
        net_fen=fees_fen - refunds - fines + credits,
        lines=ordered,
        voucher_received_on=voucher_received_on,
        pay_by=due.pay_by,
        decision=Decision.of(due),
        issued_at=now,
        credits_fen=credits,
    )


def void_credits(
    earlier: Sequence[SettlementStatementIssued], voided: Iterable[str]
) -> list[SettlementLine]:
    """FEE-6: a fine deducted on an earlier statement and voided since is credited once,
    on the next statement, with a line naming the penalty and the statement that took it.

    ``earlier`` is the outlet's statements already issued; ``voided`` the penalty ids now
    voided. A fine never deducted needs no credit (a later statement leaves it out), and
    a fine already credited is not credited again.
    """
    voided_ids = set(voided)
    credited = {line.ref_id for s in earlier for line in s.lines if line.kind == "credit"}
    credits: list[SettlementLine] = []
    for statement in sorted(earlier, key=lambda s: s.period):
        for line in statement.lines:
            if line.kind != "fine" or line.ref_id not in voided_ids or line.ref_id in credited:
                continue
            credited.add(line.ref_id)
            credits.append(
                SettlementLine(
                    kind="credit",
                    ref_id=line.ref_id,
                    ticket_id=line.ticket_id,
                    amount_fen=-line.amount_fen,
                    rule_id="FEE-6",
                    description=(
                        f"penalty {line.ref_id} voided after statement "
                        f"{statement.statement_id}: its fine is returned"
                    ),
                    earlier_statement_id=statement.statement_id,
                )
            )
    return credits


@dataclass(frozen=True)
class IssueStatement:
    """FEE-6: the outlet's voucher for a month is received."""

    outlet_id: str
    period: str  # YYYY-MM


def statement_stream(outlet_id: str, period: str) -> str:
    return f"settlement:{outlet_id}:{period}"


def fold(stream_id: str, events: Iterable[Event]) -> bool:
    """Whether the statement of the stream is issued."""
    return any(isinstance(e, SettlementStatementIssued) for e in events)


@dataclass(frozen=True)
class InvoiceEarned:
    """An invoice credited to the outlet in the period (a fee line)."""

    event_id: str
    ticket_id: str
    total_fen: int
    invoice_no: str | None


@dataclass(frozen=True)
class RefundPaid:
    """A FEE-5 refund charged to the outlet in the period."""

    complaint_id: str
    ticket_id: str
    refund_fen: int


@dataclass(frozen=True)
class FineStanding:
    """A fine of the outlet or its engineers assessed in the period and not voided."""

    penalty_id: str
    ticket_id: str
    fine_fen: int
    rule_ids: tuple[str, ...]
    subject: str
    engineer_id: str | None
    reason: str


@dataclass(frozen=True)
class PeriodItems:
    """What the outlet earned and owes in the period, as billing's ledgers hold it."""

    invoices: tuple[InvoiceEarned, ...] = ()
    refunds: tuple[RefundPaid, ...] = ()
    fines: tuple[FineStanding, ...] = ()


def statement_lines(items: PeriodItems) -> list[SettlementLine]:
    """FEE-6: one line per invoice (FEE-1), refund (FEE-5) and standing fine (PEN-x)."""
    lines = [
        SettlementLine(
            kind="fee",
            ref_id=i.event_id,
            ticket_id=i.ticket_id,
            amount_fen=i.total_fen,
            rule_id="FEE-1",
            description=f"invoice {i.invoice_no or i.ticket_id}",
        )
        for i in items.invoices
    ]
    lines += [
        SettlementLine(
            kind="refund",
            ref_id=r.complaint_id,
            ticket_id=r.ticket_id,
            amount_fen=-r.refund_fen,
            rule_id="FEE-5",
            description="overcharge refunded to the customer",
        )
        for r in items.refunds
    ]
    lines += [
        SettlementLine(
            kind="fine",
            ref_id=f.penalty_id,
            ticket_id=f.ticket_id,
            amount_fen=-f.fine_fen,
            rule_id=(f.rule_ids or ("PEN-1",))[0],
            description=f"{f.subject} {f.engineer_id or ''}: {f.reason}",
        )
        for f in items.fines
    ]
    return lines


def deducted_fines(earlier: Sequence[SettlementStatementIssued]) -> list[str]:
    """The penalty ids whose fines earlier statements deducted, sorted."""
    return sorted({line.ref_id for e in earlier for line in e.lines if line.kind == "fine"})


def decide(
    issued: bool,
    command: IssueStatement,
    *,
    pack: PolicyPack,
    items: PeriodItems,
    earlier: Sequence[SettlementStatementIssued],
    voided: Iterable[str],
    now: datetime,
) -> list[Event]:
    """FEE-6: the statement, once per outlet and month, with credits for fines voided
    since an earlier statement deducted them."""
    if issued:
        raise IllegalTransition(
            f"the {command.period} statement of {command.outlet_id} is already issued", "issued"
        )
    lines = [*statement_lines(items), *void_credits(earlier, voided)]
    statement = decide_statement(
        pack,
        outlet_id=command.outlet_id,
        period=command.period,
        lines=lines,
        voucher_received_on=now.astimezone(pack.zone).date(),
        now=now,
    )
    return paged(statement)


def paged(statement: SettlementStatementIssued) -> list[Event]:
    """The statement as its pages of lines, then the statement naming how many (FEE-6).

    A month of lines has no upper bound; each page stays within the size an event may
    have, so a large network's statement never becomes an event too large to publish.
    """
    chunks = pages(statement.lines)
    recorded: list[Event] = [
        SettlementLinesRecorded(
            ticket_id=statement.ticket_id,
            statement_id=statement.statement_id,
            outlet_id=statement.outlet_id,
            period=statement.period,
            page=n,
            page_count=len(chunks),
            lines=chunk,
        )
        for n, chunk in enumerate(chunks, start=1)
    ]
    header = statement.model_copy(
        update={"lines": (), "line_count": len(statement.lines), "page_count": len(chunks)}
    )
    return [*recorded, header]


def with_lines(
    statement: SettlementStatementIssued, recorded: Sequence[SettlementLinesRecorded]
) -> SettlementStatementIssued:
    """The statement with its lines back in place, from its pages (or inline, version 1)."""
    if statement.page_count == 0:
        return statement
    mine = sorted(
        (p for p in recorded if p.statement_id == statement.statement_id), key=lambda p: p.page
    )
    if len(mine) != statement.page_count:
        raise ValueError(
            f"statement {statement.statement_id} has {len(mine)} of {statement.page_count} pages"
        )
    lines = tuple(line for p in mine for line in p.lines)
    return statement.model_copy(update={"lines": lines})
