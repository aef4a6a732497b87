"""Billing's projections are order-insensitive folds: every order of the
same events gives the same rows (what makes replay from offset 0 equal the live view)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from repairline_billing import domain as billing
from repairline_billing.projections import Penalties, Quotes
from repairline_rules import load_pack
from tests.support.system import delivered, every_order_gives_the_same_rows

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)


async def test_the_penalty_ledger_and_quotes_fold_the_same_in_any_order(runtime_of):
    rt = await runtime_of("billing")
    complaint = billing.VerifiedComplaint("c1", "t1", "attitude", "e1", "o1", None, NOW, "ev")
    penalty = billing.decide_complaint_penalty(PACK, complaint, earlier=[], now=NOW)
    state = billing.PenaltyState(penalty.penalty_id, "assessed")
    appealed = billing.decide_appeal(state, "t1", reason="not me", now=NOW)
    voided = billing.decide_ruling(
        billing.PenaltyState(penalty.penalty_id, "appealed"),
        "t1",
        void=True,
        manager_id="m",
        reason="r",
        now=NOW + timedelta(hours=1),
    )
    items = delivered([penalty, appealed, voided], at=NOW, pack=PACK)
    await every_order_gives_the_same_rows(rt, Penalties(), items, itertools.permutations(range(3)))

    facts = billing.TicketFacts("t1", "instant_water_heater", "municipality", "on_site", None)
    quote = billing.decide_quote(
        PACK, billing.Account("t1"), facts, billing.QuoteRequest(), quote_id="q1", now=NOW
    )
    account = billing.evolve(billing.Account("t1"), quote)
    accepted = billing.decide_acceptance(account, "q1", now=NOW)
    await every_order_gives_the_same_rows(
        rt, Quotes(), delivered([quote, accepted], at=NOW, pack=PACK), [(0, 1), (1, 0)]
    )
