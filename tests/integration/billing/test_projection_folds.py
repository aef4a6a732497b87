"""Billing's projections are order-insensitive folds: every order of the
same events gives the same rows (what makes replay from offset 0 equal the live view)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from repairline_billing import domain as billing
from repairline_billing.projections import Penalties, Quotes, Tickets, all_projections
from repairline_billing.store import PgStore
from repairline_contracts.intake import WarrantyDecided
from repairline_rules import load_pack
from tests.support.factories import repair_requested, warranty_decided
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


async def test_war_5_int_3_billings_copy_prices_from_the_start_intake_published(runtime_of):
    """Intake's decision says the sales record dates the warranty (WAR-3) with 12 days
    paused (WAR-5); the stated 2020 purchase date (INT-3) is kept but not used. A decision
    recorded before `days_paused` existed is still read (0 days)."""
    rt = await runtime_of("billing")
    requested = repair_requested("t-dated", purchase_date=date(2020, 1, 1))
    decided = warranty_decided(
        "t-dated",
        start_date=date(2029, 12, 1),
        start_source="serial_lookup",
        days_paused=12,
        at=NOW,
    )
    items = delivered([requested, decided], at=NOW, pack=PACK)
    await every_order_gives_the_same_rows(rt, Tickets(), items, [(0, 1), (1, 0)])
    async with rt.unit_of_work() as uow:
        facts, _ = await PgStore(uow.conn).ticket("t-dated")
        dated = billing.pricing.warranty_from(facts)
        assert (dated.start_date, dated.source, dated.days_paused) == (
            date(2029, 12, 1),
            "serial_lookup",
            12,
        )
        assert facts.purchase_date == date(2020, 1, 1)
        old = decided.model_dump(mode="json")
        del old["days_paused"]
        await uow.conn.execute("truncate ticket_warranty")
        await Tickets().handle(
            uow, delivered([WarrantyDecided.model_validate(old)], at=NOW, pack=PACK)
        )
        facts, _ = await PgStore(uow.conn).ticket("t-dated")
        assert billing.pricing.warranty_from(facts).days_paused == 0


async def test_war_4_fee_4_billing_knows_a_version_of_a_ticket_only_with_its_facts(runtime_of):
    """A command naming the intake version its caller was told (the inspection's warranty,
    WAR-4) waits until billing has seen it (`caught_up`), then prices from billing's copy
    (FEE-4). The version is kept by that copy's own fold, in the same transaction as the
    warranty it brings; no other projection writes it, so it cannot run ahead of the
    facts."""
    rt = await runtime_of("billing")
    requested = repair_requested("t-versioned")
    in_warranty = warranty_decided(
        "t-versioned", start_date=date(2030, 1, 2), start_source="invoice", days_paused=0, at=NOW
    )
    excluded = in_warranty.model_copy(
        update={"unit_in_warranty": False, "free_visit": False, "chargeable": True}
    )
    items = delivered([requested, in_warranty, excluded], at=NOW, pack=PACK)
    async with rt.unit_of_work() as uow:
        store = PgStore(uow.conn)
        await Tickets().handle(uow, items[:2])
        facts, _ = await store.ticket("t-versioned")
        assert (await store.intake_version("t-versioned"), facts.intake_warranty.chargeable) == (
            2,
            False,
        )
        await Tickets().handle(uow, items[2:])
        facts, _ = await store.ticket("t-versioned")
        assert (await store.intake_version("t-versioned"), facts.intake_warranty.chargeable) == (
            3,
            True,
        )
    writers = [p.name for p in all_projections() if "intake_versions" in p.tables]
    assert writers == ["tickets"]
