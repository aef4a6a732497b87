"""FEE-6 statements: fees minus refunds and fines, credits for fines voided since."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from repairline_billing import domain as d
from repairline_billing.domain.settlement import PeriodItems
from repairline_billing.views import statement_csv
from repairline_contracts.billing import SettlementLine
from repairline_rules import load_pack

WH = load_pack("water-heater")
SW = load_pack("software-support")
OE = load_pack("office-equipment")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 6, 3, 10, 0, tzinfo=SH)


# -- FEE-6, FEE-7 ---------------------------------------------------------------------------


def test_fee_6_a_statement_is_fees_minus_refunds_and_fines_due_60_days_after_the_voucher():
    lines = [
        SettlementLine(
            kind="fee",
            ref_id="i1",
            ticket_id="t1",
            amount_fen=12500,
            rule_id="FEE-1",
            description="invoice",
        ),
        SettlementLine(
            kind="refund",
            ref_id="c1",
            ticket_id="t2",
            amount_fen=-5800,
            rule_id="FEE-5",
            description="refund",
        ),
        SettlementLine(
            kind="fine",
            ref_id="p1",
            ticket_id="t2",
            amount_fen=-58000,
            rule_id="FEE-5",
            description="fine",
        ),
    ]
    s = d.decide_statement(
        WH,
        outlet_id="o1",
        period="2030-06",
        lines=lines,
        voucher_received_on=date(2030, 7, 2),
        now=NOW,
    )
    assert (s.fees_fen, s.refunds_fen, s.fines_fen, s.net_fen) == (12500, 5800, 58000, -51300)
    assert s.pay_by == date(2030, 8, 31) and s.decision.rule_ids == ("FEE-6",)
    text = statement_csv(s.model_dump(mode="json")).splitlines()
    assert text[1].endswith(",125.00") and text[-1].endswith(",-513.00")
    assert d.period_bounds(WH, "2030-12")[1] == datetime(2031, 1, 1, tzinfo=WH.zone)


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (-61600, "-616.00"), (12345, "123.45")]
)
def test_fee_6_csv_amounts_are_yuan_with_two_decimals_from_integer_fen(fen, text):
    assert d.yuan(fen) == text


# -- FEE-6: fines voided after their statement --------------------------------------------


def _fine(ref: str, fen: int) -> SettlementLine:
    return SettlementLine(
        kind="fine", ref_id=ref, ticket_id="t1", amount_fen=-fen, rule_id="PEN-1", description="f"
    )


def _statement(period: str, lines: list[SettlementLine]):
    return d.decide_statement(
        WH,
        outlet_id="o1",
        period=period,
        lines=lines,
        voucher_received_on=date(2030, 7, 2),
        now=NOW,
    )


def test_fee_6_a_fine_voided_after_its_statement_is_credited_once_on_the_next():
    june = _statement("2030-06", [_fine("PEN-1:c1", 20000), _fine("PEN-1:c2", 20000)])
    credits = d.void_credits([june], ["PEN-1:c1", "PEN-1:never-deducted"])
    assert [
        (c.kind, c.ref_id, c.amount_fen, c.rule_id, c.earlier_statement_id) for c in credits
    ] == [("credit", "PEN-1:c1", 20000, "FEE-6", "o1:2030-06")]
    assert "PEN-1:c1" in credits[0].description and "o1:2030-06" in credits[0].description
    july = _statement("2030-07", [_fine("PEN-1:c3", 20000), *credits])
    assert (july.fines_fen, july.credits_fen, july.net_fen) == (20000, 20000, 0)
    # never credited twice, however often it is asked
    assert d.void_credits([june, july], ["PEN-1:c1"]) == []
    text = statement_csv(july.model_dump(mode="json")).splitlines()
    assert any(",credit,t1,PEN-1:c1,FEE-6," in row and row.endswith(",200.00") for row in text)
    assert "total:credits" in text[-2] and text[-1].endswith(",0.00")


# -- a month of lines past the size of one event (FEE-6) -----------------------------------


def _many_fees(n: int) -> PeriodItems:
    from repairline_billing.domain.settlement import InvoiceEarned

    return PeriodItems(
        invoices=tuple(
            InvoiceEarned(f"ev-{i:05d}", f"ticket-{i:05d}", 3000, f"RO-{i:09d}") for i in range(n)
        )
    )


def test_fee_6_a_month_of_lines_past_a_megabyte_is_paged_into_events_under_the_size_limit():
    from repairline_billing.domain import settlement
    from repairline_contracts.base import MAX_PAGE_BYTES
    from repairline_contracts.billing import SettlementLinesRecorded
    from repairline_contracts.envelope import wrap
    from repairline_platform.eventstore import MAX_EVENT_BYTES

    command = settlement.IssueStatement("o1", "2030-05")
    *pages, header = settlement.decide(
        False, command, pack=WH, items=_many_fees(6000), earlier=[], voided=[], now=NOW
    )
    assert len(pages) > 3 and all(isinstance(p, SettlementLinesRecorded) for p in pages)
    assert [p.page for p in pages] == list(range(1, len(pages) + 1))
    assert (header.page_count, header.line_count, header.lines) == (len(pages), 6000, ())
    sizes = [
        len(wrap(e, event_id="x", source="/billing", time=NOW, region="cn-east",
                 policy_pack="water-heater", policy_version="1", correlation_id="c",
                 causation_id="c", stream_version=1).to_bytes())
        for e in [*pages, header]
    ]  # fmt: skip
    assert max(sizes) < MAX_EVENT_BYTES
    assert all(len(p.model_dump_json(include={"lines"})) <= MAX_PAGE_BYTES + 16 for p in pages)
    whole = settlement.with_lines(header, pages)
    assert [line.ref_id for line in whole.lines] == sorted(f"ev-{i:05d}" for i in range(6000))
    assert whole.net_fen == header.net_fen == 6000 * 3000


def test_fee_6_a_statement_with_a_page_missing_is_not_put_together():
    from repairline_billing.domain import settlement

    command = settlement.IssueStatement("o1", "2030-05")
    *pages, header = settlement.decide(
        False, command, pack=WH, items=_many_fees(3000), earlier=[], voided=[], now=NOW
    )
    with pytest.raises(ValueError, match="pages"):
        settlement.with_lines(header, pages[1:])


def test_a_version_1_statement_keeps_its_lines_inline():
    from repairline_billing.domain import settlement
    from repairline_contracts.registry import load

    v1 = {
        "ticket_id": "outlet:o1",
        "statement_id": "o1:2026-05",
        "outlet_id": "o1",
        "period": "2026-05",
        "fees_fen": 3000,
        "refunds_fen": 0,
        "fines_fen": 0,
        "net_fen": 3000,
        "lines": [
            {"kind": "fee", "ref_id": "ev1", "ticket_id": "t1", "amount_fen": 3000,
             "rule_id": "FEE-1", "description": "invoice RO-1"}
        ],
        "voucher_received_on": "2026-06-01",
        "pay_by": "2026-07-31",
        "decision": {"pack_id": "water-heater", "pack_version": "1", "rule_ids": ["FEE-6"]},
        "issued_at": "2026-06-01T02:00:00Z",
    }  # fmt: skip
    statement = load("repairline.billing.SettlementStatementIssued", 1, v1)
    assert (statement.page_count, statement.line_count) == (0, 1)
    assert settlement.with_lines(statement, []).lines == statement.lines
    assert statement.lines[0].amount_fen == 3000
