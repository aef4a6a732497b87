"""FEE-6 settlement statements (stream `settlement:<outlet>:<period>`). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from repairline_contracts.base import Decision
from repairline_contracts.billing import (
    SettlementLine,
    SettlementStatementIssued,
)
from repairline_rules import fees
from repairline_rules.packs import PolicyPack

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
