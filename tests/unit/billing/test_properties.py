"""Properties of each aggregate over `evolve(decide(...))`: the decided events, folded,
give a state where the decision's invariant holds, and deciding again is refused or
changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from repairline_billing.domain import account, assessment, penalty, settlement, trip
from repairline_billing.domain.account import (
    AcceptQuote,
    ChargeRepair,
    IssueQuote,
    RefuseQuote,
)
from repairline_billing.domain.assessment import AssessEngineer, AssessmentFact
from repairline_billing.domain.penalty import AppealPenalty, RulePenalty, VerifiedComplaint
from repairline_billing.domain.pricing import PricingContext, QuoteRequest, TicketFacts
from repairline_billing.domain.settlement import (
    FineStanding,
    InvoiceEarned,
    IssueStatement,
    PeriodItems,
    RefundPaid,
)
from repairline_billing.domain.trip import GrantTrip
from repairline_contracts.billing import Evidence
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition

WH = load_pack("water-heater")
SW = load_pack("software-support")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 6, 3, 10, 0, tzinfo=SH)
FACTS = TicketFacts("t1", "instant_water_heater", "provincial_capital", "on_site", None)
PRICING = PricingContext(FACTS)
PARTS = sorted(WH.fees.parts)


def _apply(state, events, evolve):
    for event in events:
        state = evolve(state, event)
    return state


# -- the account: FEE-4 quotes and the invoice ---------------------------------------------

quote_ids = st.sampled_from(["q1", "q2", "q3"])
account_commands = st.one_of(
    st.builds(
        IssueQuote,
        ticket_id=st.just("t1"),
        quote_id=quote_ids,
        request=st.builds(
            QuoteRequest,
            parts=st.lists(st.tuples(st.sampled_from(PARTS), st.integers(1, 3)), max_size=2).map(
                tuple
            ),
        ),
    ),
    st.builds(AcceptQuote, ticket_id=st.just("t1"), quote_id=quote_ids),
    st.builds(RefuseQuote, ticket_id=st.just("t1"), quote_id=quote_ids, reason=st.just("no")),
    st.builds(ChargeRepair, ticket_id=st.just("t1"), completed_at=st.just(NOW)),
)


def _decide_account(state, command):
    return account.decide(state, command, pack=WH, now=NOW, pricing=PRICING)


@settings(max_examples=60, deadline=None)
@given(st.lists(account_commands, max_size=8))
def test_fee_4_an_account_is_invoiced_at_most_once_and_never_quoted_after(commands):
    state, invoices = account.Account("t1"), 0
    for command in commands:
        try:
            events = _decide_account(state, command)
        except IllegalTransition:
            continue
        invoices += sum(1 for e in events if type(e).__name__ == "ChargeAssessed")
        state = _apply(state, events, account.evolve)
    assert invoices == int(state.invoiced) <= 1
    if state.invoiced:
        assert _decide_account(state, ChargeRepair("t1", NOW)) == []
        for again in (IssueQuote("t1", "q9", QuoteRequest()), AcceptQuote("t1", "q1")):
            try:
                _decide_account(state, again)
            except IllegalTransition:
                continue
            raise AssertionError(f"{again} decided after the invoice")


@settings(max_examples=40, deadline=None)
@given(st.lists(account_commands, max_size=6), quote_ids)
def test_fee_4_an_accepted_quote_is_the_latest_and_cannot_be_accepted_again(commands, quote_id):
    state = account.Account("t1")
    for command in commands:
        try:
            state = _apply(state, _decide_account(state, command), account.evolve)
        except IllegalTransition:
            continue
    try:
        state = _apply(state, _decide_account(state, AcceptQuote("t1", quote_id)), account.evolve)
    except IllegalTransition:
        return
    assert (
        state.accepted is not None and state.accepted.quote_id == quote_id == state.latest.quote_id
    )
    try:
        _decide_account(state, AcceptQuote("t1", quote_id))
    except IllegalTransition:
        return
    raise AssertionError("a quote was accepted twice")


# -- penalties: appeals and rulings --------------------------------------------------------

penalty_commands = st.one_of(
    st.builds(AppealPenalty, penalty_id=st.just("PEN-1:c1"), reason=st.just("not me")),
    st.builds(
        RulePenalty,
        penalty_id=st.just("PEN-1:c1"),
        void=st.booleans(),
        manager_id=st.just("m1"),
        reason=st.just("seen"),
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(penalty_commands, max_size=6))
def test_a_penalty_is_ruled_on_only_once_appealed_and_never_after(commands):
    complaint = VerifiedComplaint("c1", "t1", "attitude", "e1", "o1", None, NOW, "ev")
    assessed = penalty.decide_complaint_penalty(WH, complaint, earlier=[], now=NOW)
    state = penalty.fold("penalty:PEN-1:c1", [assessed])
    history = [state.status]
    for command in commands:
        try:
            events = penalty.decide(state, command, now=NOW)
        except IllegalTransition:
            continue
        state = _apply(state, events, penalty.evolve)
        history.append(state.status)
        try:
            penalty.decide(state, command, now=NOW)
        except IllegalTransition:
            continue
        raise AssertionError(f"{command} decided twice in a row")
    assert history in (
        ["assessed"],
        ["assessed", "appealed"],
        ["assessed", "appealed", "voided"],
        ["assessed", "appealed", "upheld"],
    )


# -- FEE-6 statements ----------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=500_000)


@settings(max_examples=40, deadline=None)
@given(st.lists(amounts, max_size=4), st.lists(amounts, max_size=3), st.lists(amounts, max_size=3))
def test_fee_6_a_statement_nets_fees_refunds_and_fines_and_is_issued_once(fees, refunds, fines):
    items = PeriodItems(
        invoices=tuple(InvoiceEarned(f"ev{i}", f"t{i}", f, None) for i, f in enumerate(fees)),
        refunds=tuple(RefundPaid(f"c{i}", f"t{i}", r) for i, r in enumerate(refunds)),
        fines=tuple(
            FineStanding(f"P{i}", f"t{i}", f, ("PEN-1",), "engineer", "e1", "x")
            for i, f in enumerate(fines)
        ),
    )
    command = IssueStatement("o1", "2030-05")
    kw = {"pack": WH, "items": items, "earlier": [], "voided": [], "now": NOW}
    *pages, header = settlement.decide(False, command, **kw)
    statement = settlement.with_lines(header, pages)
    assert statement.net_fen == sum(fees) - sum(refunds) - sum(fines)
    assert statement.net_fen == sum(line.amount_fen for line in statement.lines)
    assert header.line_count == len(statement.lines)
    issued = settlement.fold("settlement:o1:2030-05", [*pages, header])
    try:
        settlement.decide(issued, command, **kw)
    except IllegalTransition:
        return
    raise AssertionError("a statement was issued twice")


# -- FEE-7 trips ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=0, max_value=6 * 24),
    st.integers(min_value=1, max_value=6 * 24),
    st.lists(st.integers(min_value=0, max_value=40_000), max_size=6),
)
def test_fee_7_an_allowance_is_meals_plus_hotel_and_granted_once(start_h, hours, hotel):
    departed = NOW + timedelta(hours=start_h)
    command = GrantTrip(
        "TRIP-1", "e1", "t1", departed, departed + timedelta(hours=hours), tuple(hotel)
    )
    try:
        [granted] = trip.decide(False, command, pack=SW, now=NOW)
    except IllegalTransition as refused:
        assert refused.state == "invalid-trip"
        return
    assert granted.total_fen == granted.meals_fen + granted.hotel_fen >= 0
    try:
        trip.decide(trip.fold("trip:TRIP-1", [granted]), command, pack=SW, now=NOW)
    except IllegalTransition:
        return
    raise AssertionError("a trip was granted twice")


# -- PEN-8 assessments ---------------------------------------------------------------------

facts = st.lists(
    st.builds(
        AssessmentFact,
        kind=st.sampled_from(assessment.ASSESSMENT_KINDS),
        evidence=st.builds(
            Evidence,
            event_id=st.sampled_from(["ev1", "ev2", "ev3", "ev4"]),
            event_type=st.just("x"),
            ticket_id=st.just("t1"),
            note=st.just("n"),
        ),
    ),
    max_size=10,
)


@settings(max_examples=40, deadline=None)
@given(facts)
def test_pen_8_each_proving_event_counts_once_per_kind_and_a_month_is_assessed_once(found):
    command = AssessEngineer("e1", "2030-05")
    [assessed] = assessment.decide(False, command, pack=WH, facts=found, now=NOW)
    unique = {(f.kind, f.evidence.event_id) for f in found}
    assert sum(assessed.counts.model_dump().values()) == len(unique) == len(assessed.evidence)
    assert 0 <= assessed.total <= 100
    done = assessment.fold(assessment.assessment_stream("e1", "2030-05"), [assessed])
    try:
        assessment.decide(done, command, pack=WH, facts=found, now=NOW)
    except IllegalTransition:
        return
    raise AssertionError("a month was assessed twice")


def test_the_pen_8_window_is_a_calendar_month_in_the_packs_zone():
    start, end = settlement.period_bounds(WH, "2030-12")
    assert (start.date(), end.date()) == (date(2030, 12, 1), date(2031, 1, 1))
