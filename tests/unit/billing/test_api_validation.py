"""Billing's request bodies: what they refuse, and the one command each turns into."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from repairline_billing.domain.account import IssueQuote
from repairline_billing.domain.outlet import ChangeOutlet, RegisterContract
from repairline_billing.domain.settlement import IssueStatement
from repairline_billing.domain.trip import GrantTrip
from repairline_billing.schemas import (
    AssessmentIn,
    ContractIn,
    OutletIn,
    QuoteIn,
    SettlementIn,
    TripIn,
    UnreachableIn,
)


def test_fee_4_a_quote_body_becomes_one_quote_with_a_fresh_id():
    body = QuoteIn(parts=[{"code": "thermostat", "quantity": 2}], distance_km=Decimal("42"))
    first, second = body.command("t1"), body.command("t1")
    assert isinstance(first, IssueQuote) and first.ticket_id == "t1"
    assert first.request.parts == (("thermostat", 2),)
    assert first.request.distance_km == Decimal("42")
    assert first.quote_id.startswith("Q-") and first.quote_id != second.quote_id


@pytest.mark.parametrize(
    "body",
    [
        {"parts": [{"code": "x", "quantity": 0}]},
        {"distance_km": "-1"},
        {"extra_wiring_m": -3},
        {"unknown": 1},
    ],
)
def test_fee_2_fee_3_a_quote_body_refuses_negative_amounts_and_unknown_fields(body):
    with pytest.raises(ValidationError):
        QuoteIn.model_validate(body)


@pytest.mark.parametrize("period", ["2030-13", "2030-1", "30-01", "2030-00"])
def test_fee_6_pen_8_a_period_is_a_calendar_month(period):
    with pytest.raises(ValidationError):
        SettlementIn(period=period)
    with pytest.raises(ValidationError):
        AssessmentIn(period=period)


def test_fee_6_a_settlement_body_names_the_outlet_and_month():
    assert SettlementIn(period="2030-05").command("o1") == IssueStatement("o1", "2030-05")


def test_fee_7_a_trip_needs_aware_times_and_gets_a_fresh_id():
    with pytest.raises(ValidationError):
        TripIn(ticket_id="t1", departed_at="2030-06-10T14:00:00", returned_at="2030-06-12T11:00")
    body = TripIn(
        ticket_id="t1",
        departed_at=datetime(2030, 6, 10, 6, tzinfo=UTC),
        returned_at=datetime(2030, 6, 12, 3, tzinfo=UTC),
        hotel_fen_per_night=[15000, 10000],
    )
    trip = body.command("e1")
    assert isinstance(trip, GrantTrip) and trip.trip_id.startswith("TRIP-")
    assert trip.hotel_fen_per_night == (15000, 10000)


def test_pen_6_a_fine_is_never_negative():
    with pytest.raises(ValidationError):
        UnreachableIn(ticket_id="t1", fine_fen=-1)


def test_fee_6_fee_8_the_roster_and_a_contract_become_commands():
    roster = OutletIn(name="East", region="cn-east", engineer_ids=["e1", "e2"]).command("o1")
    assert roster == ChangeOutlet("o1", "East", "cn-east", ("e1", "e2"))
    contract = ContractIn(serial_no="SN1", starts_on=date(2030, 1, 1)).command("K1")
    assert contract == RegisterContract("K1", "SN1", date(2030, 1, 1))
