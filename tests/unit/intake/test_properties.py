"""Properties of intake's aggregates over `evolve(decide(...))`, for any request."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    DealerFacts,
    Product,
    RepairRequested,
    ServiceMode,
)
from repairline_intake.domain import sales_record, ticket
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition, Refused

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
PACKS = {name: load_pack(name) for name in ("water-heater", "home-appliance", "pc-depot")}
LINES = {
    "water-heater": "instant_water_heater",
    "home-appliance": "washing_machine",
    "pc-depot": "notebook",
}


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, ticket.RequestRepair]:
    pack = draw(st.sampled_from(sorted(PACKS)))
    channel = draw(st.sampled_from([c for c in Channel if c is not Channel.DEPOT]))
    depot_mode = draw(st.booleans())
    name = draw(st.sampled_from([None, "Li Wei"]))
    mobile = draw(st.sampled_from([None, "13900000000"]))
    bought = NOW.date() - timedelta(days=draw(st.integers(0, 2000)))
    cmd = ticket.RequestRepair(
        channel=channel,
        region="cn-east",
        city_tier=draw(st.sampled_from(list(CityTier))),
        service_mode=ServiceMode.DEPOT if depot_mode else ServiceMode.ON_SITE,
        customer=Customer(name=name, mobile=mobile, address=draw(st.sampled_from([None, "1 Rd"]))),
        product=Product(line=LINES[pack], model="M", serial_no="S1", purchase_date=bought),
        fault_description="does not start",
        fault_kind=draw(
            st.sampled_from(["misreport", "misuse", "software", "hardware", "unknown"])
        ),
        customer_insists_on_visit=draw(st.booleans()),
        dealer=DealerFacts(name="Riverside") if channel is Channel.DEALER else None,
        proof=draw(st.sampled_from([None, ticket.ProofFacts(invoice_date=bought)])),
        guarantee=ticket.GuaranteeFacts(performance_fault=draw(st.booleans())),
        depot=ticket.DepotFacts() if depot_mode else None,
    )
    return pack, cmd


def decided(pack: str, cmd: ticket.RequestRepair) -> tuple[ticket.IntakeTicket, list]:
    new = ticket.IntakeTicket(str(uuid.uuid4()))
    numbers = ticket.TicketNumbers(day="20261124", seq=7, queue_place=3)
    try:
        events = ticket.decide_request(
            new, cmd, numbers=numbers, sold_on_by_serial=None, pack=PACKS[pack], now=NOW
        )
    except Refused as refusal:
        events = list(refusal.events)
    return ticket.fold(new.ticket_id, events), events


@settings(max_examples=60, deadline=None)
@given(requests())
def test_int_1_to_int_7_a_decided_request_folds_into_a_ticket_holding_what_it_waits_for(request):
    pack, cmd = request
    state, events = decided(pack, cmd)
    assert all(e.ticket_id == state.ticket_id for e in events)
    if state.state == "refused":  # INT-4: only a dealer's drop-off is refused
        assert cmd.channel is Channel.DEALER and len(events) == 1
        return
    first = events[0]
    assert state.state == "open" and isinstance(first, RepairRequested)
    assert state.holds == frozenset(first.held_for)
    assert state.needs_verification == bool(first.verification_issues)
    assert (ticket.HOLD_GUIDANCE in state.holds) == (first.triage.route == "phone_guidance")
    assert (state.depot is not None) == ticket.takes_a_queue_place(cmd)


@settings(max_examples=40, deadline=None)
@given(requests())
def test_int_1_the_same_request_decided_again_on_its_ticket_is_refused(request):
    pack, cmd = request
    state, _ = decided(pack, cmd)
    numbers = ticket.TicketNumbers(day="20261124", seq=8, queue_place=4)
    with pytest.raises(IllegalTransition):
        ticket.decide_request(
            state, cmd, numbers=numbers, sold_on_by_serial=None, pack=PACKS[pack], now=NOW
        )


@settings(max_examples=40, deadline=None)
@given(requests(), st.text(min_size=1, max_size=20))
def test_a_ticket_cancelled_once_cannot_be_cancelled_again(request, reason):
    pack, cmd = request
    state, _ = decided(pack, cmd)
    cancel = ticket.CancelTicket(state.ticket_id, reason)
    if state.state != "open":
        with pytest.raises(IllegalTransition):
            ticket.decide_cancellation(state, cancel, repair_completed=False, now=NOW)
        return
    [cancelled] = ticket.decide_cancellation(state, cancel, repair_completed=False, now=NOW)
    after = ticket.evolve(state, cancelled)
    assert after.state == "cancelled" and after.closed_reason == reason
    with pytest.raises(IllegalTransition) as err:
        ticket.decide_cancellation(after, cancel, repair_completed=False, now=NOW)
    assert err.value.state == "cancelled"


@settings(max_examples=40, deadline=None)
@given(requests(), st.data())
def test_war_6_to_war_9_a_remedy_chosen_once_cannot_be_chosen_again(request, data):
    pack, cmd = request
    state, _ = decided(pack, cmd)
    if not state.remedies or state.state != "open":
        return
    kind = data.draw(st.sampled_from([m.kind for m in state.remedies]))
    choose = ticket.ChooseRemedy(state.ticket_id, kind)
    events = ticket.decide_remedy(state, choose, now=NOW)
    after = state
    for event in events:
        after = ticket.evolve(after, event)
    assert after.remedy == kind and ticket.HOLD_REMEDY not in after.holds
    assert (after.state == "closed") == (kind in ("return", "exchange"))
    with pytest.raises(IllegalTransition):
        ticket.decide_remedy(after, choose, now=NOW)


@settings(max_examples=40, deadline=None)
@given(
    st.text(alphabet="ABC0123456789", min_size=1, max_size=12),
    st.sampled_from(sorted(LINES.values())),
    st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)),
    st.one_of(st.none(), st.text(alphabet="XYZ-1", min_size=1, max_size=6)),
)
def test_war_3_a_recorded_sale_says_what_was_recorded_and_recording_it_again_is_a_no_op(
    serial_no, line, sold_on, model
):
    cmd = sales_record.RecordSale(serial_no, product_line=line, sold_on=sold_on, model=model)
    stream_id = sales_record.stream_id(serial_no)
    events = sales_record.decide(sales_record.fold(stream_id, []), cmd, now=NOW)
    record = sales_record.fold(stream_id, events)
    assert record.says(cmd) and record.sold_on == sold_on
    assert events[0].ticket_id == stream_id
    assert sales_record.decide(record, cmd, now=NOW) == []
