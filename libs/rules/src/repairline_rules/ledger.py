"""The invoice held against its quote (FEE-4) and the missed-appointment entry (PEN-7)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from repairline_rules.decision import Decision, add_months, stamp, utc
from repairline_rules.fees import ChargeLine
from repairline_rules.packs import PolicyPack
from repairline_rules.penalties import PenaltyDecision
from repairline_rules.registry import rule


class InvoiceCheckDecision(Decision):
    """FEE-4: whether an invoice bills exactly what the customer accepted, and if not, why."""

    matches_quote: bool
    quoted_fen: int | None
    invoiced_fen: int
    note: str


def _key(line: ChargeLine) -> tuple[str, int]:
    return line.code, line.amount_fen


@rule("FEE-4")
def invoice_against_quote(
    pack: PolicyPack,
    *,
    invoiced: Sequence[ChargeLine],
    accepted: Sequence[ChargeLine] | None,
    refused: bool = False,
    free_reason: str | None = None,
) -> InvoiceCheckDecision:
    """FEE-4: any charge is stated and accepted before work; the invoice must match the
    accepted quote or say why not.

    ``accepted`` is the accepted quote's lines (None: no quote was accepted). A refused
    quote means no work and no charge. ``free_reason`` names a reason that made the
    repair free after the quote (WAR-10 recurrence, WAR-11 reward).
    """
    total = sum(line.amount_fen for line in invoiced)
    if accepted is None:
        if refused:
            note = "quote refused: no work and no charge"
        elif total == 0:
            note = "nothing chargeable: no quote needed"
        else:
            note = "no accepted quote on file: charged by the tariff"
        return InvoiceCheckDecision(
            **stamp(pack, ["FEE-4"]),
            matches_quote=total == 0,
            quoted_fen=None,
            invoiced_fen=total,
            note=note,
        )
    quoted = sum(line.amount_fen for line in accepted)
    same = sorted(map(_key, invoiced)) == sorted(map(_key, accepted))
    if same:
        note = "matches the accepted quote"
    elif free_reason:
        note = f"free after the quote: {free_reason}"
    elif total < quoted:
        note = f"less than quoted by {quoted - total} fen"
    else:
        note = f"more than quoted by {total - quoted} fen: only the quoted amount may be charged"
    return InvoiceCheckDecision(
        **stamp(pack, ["FEE-4"]),
        matches_quote=same,
        quoted_fen=quoted,
        invoiced_fen=total,
        note=note,
    )


@rule("PEN-7")
def missed_appointment_entry(
    pack: PolicyPack, *, missed_at: datetime, earlier: Sequence[datetime] = ()
) -> PenaltyDecision:
    """PEN-7: a missed appointment is counted against the engineer.

    The rulebook names no amount ('never miss an appointment' is an iron rule): the
    ledger records a warning at 0 fen, with the misses counted over the pack's
    complaint window (half a year); a second miss in it is a repeat offence.
    """
    now = utc(missed_at, "missed_at")
    months = pack.penalties.complaint.window_months if pack.penalties.complaint else 6
    local = now.astimezone(pack.zone)
    start = datetime.combine(add_months(local.date(), -months), local.timetz())
    in_window = 1 + sum(1 for at in earlier if start < utc(at, "earlier") <= now)
    repeat = in_window > 1
    reason = f"missed appointment, counted against the engineer ({in_window} in {months} months)"
    if repeat:
        reason = f"repeat offence: {reason}"
    return PenaltyDecision(
        **stamp(pack, ["PEN-7"]),
        fine_fen=0,
        sanction="warning",
        payee=pack.penalties.payee,
        reason=reason,
    )
