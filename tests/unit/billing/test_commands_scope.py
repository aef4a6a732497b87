"""Billing's commands in the caller's regions: a quote or a fine of a ticket outside them
is answered as if it did not exist (404), never voided or accepted."""

from __future__ import annotations

import pytest

from repairline_billing import commands
from repairline_billing.domain.account import AcceptQuote, IssueQuote
from repairline_billing.domain.penalty import AppealPenalty, RulePenalty
from repairline_billing.domain.pricing import QuoteRequest
from repairline_platform.auth import Principal, bound_principal
from repairline_rules.refusals import NotFound
from tests.unit.billing.test_commands import World, complaint


def of_region(role: str, region: str) -> Principal:
    p = Principal(f"{role}-{region}", frozenset({role}), regions=frozenset({region}))
    return p.acting(frozenset({role}))


async def test_pen_1_quality_of_cn_north_cannot_void_a_cn_east_fine_404():
    world = World()
    world.add_ticket("t1")  # cn-east
    await world.run(commands.judge_complaint, complaint(frozenset({"PEN-1"})))
    with bound_principal(of_region("quality", "cn-north")), pytest.raises(NotFound):
        await world.run(commands.rule_on_penalty, AppealPenalty("PEN-1:c1", "not me"))
    with bound_principal(of_region("quality", "cn-east")):
        await world.run(commands.rule_on_penalty, AppealPenalty("PEN-1:c1", "not me"))
    with bound_principal(of_region("quality", "cn-north")), pytest.raises(NotFound):
        await world.run(commands.rule_on_penalty, RulePenalty("PEN-1:c1", True, "m1", "void"))
    assert world.types("penalty:PEN-1:c1") == ["PenaltyAssessed", "PenaltyAppealed"]


async def test_fee_4_billing_of_cn_north_cannot_quote_or_accept_on_a_cn_east_ticket_404():
    world = World()
    world.add_ticket("t1")
    quote = IssueQuote("t1", "q1", QuoteRequest(parts=(("heating_element", 1),)))
    with bound_principal(of_region("billing", "cn-north")), pytest.raises(NotFound):
        await world.run(commands.issue_quote, quote)
    await world.run(commands.issue_quote, quote)
    with bound_principal(of_region("billing", "cn-north")), pytest.raises(NotFound):
        await world.run(commands.answer_quote, AcceptQuote("t1", "q1"))
    assert world.types("t1") == ["QuoteIssued"]
