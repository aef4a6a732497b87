"""Invariants, checked with generated inputs (hypothesis)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repairline_rules import BUILTIN_PACKS, BusinessCalendar, Pause, load_pack, sla_deadline
from repairline_rules.fees import PartUse, assess_charge
from repairline_rules.packs import CITY_TIERS, Window

PACKS = {pack_id: load_pack(pack_id) for pack_id in BUILTIN_PACKS}
WATER = PACKS["water-heater"]
CALENDARS = [BusinessCalendar.from_pack(pack) for pack in PACKS.values()] + [
    BusinessCalendar(timezone="Europe/Berlin", hours=(((540, 1020),),) * 5 + ((), ())),
    BusinessCalendar(timezone="America/New_York", hours=(((0, 1440),),) * 7),
]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis adds the zone
    # the packs' calendars cover 2025 and 2026 (calendar.years): starts leave room for the
    # longest window generated (60 working days) before the end of the covered years
    max_value=datetime(2026, 6, 30),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")]),
)
windows = st.builds(
    Window,
    amount=st.integers(min_value=0, max_value=60),
    unit=st.sampled_from(["minutes", "hours", "days", "working_hours", "working_days"]),
)
water_parts = st.lists(
    st.builds(
        PartUse,
        code=st.sampled_from(sorted(WATER.fees.parts)),
        quantity=st.integers(min_value=1, max_value=5),
        under_warranty=st.booleans(),
    ),
    max_size=4,
)
charges = st.fixed_dictionaries(
    {
        "product": st.sampled_from(sorted(WATER.fees.visit_tariff_fen)),
        "city_tier": st.sampled_from(CITY_TIERS),
        "service_mode": st.sampled_from(["on_site", "depot"]),
        "unit_in_warranty": st.booleans(),
        "parts": water_parts,
        "distance_km": st.one_of(
            st.integers(min_value=0, max_value=200),
            st.decimals(min_value=0, max_value=200, allow_nan=False, places=1),
        ),
        "agreed_travel_fee_fen": st.one_of(st.none(), st.integers(min_value=0, max_value=20000)),
        "extra_wiring_m": st.integers(min_value=0, max_value=50),
    }
)


@FAST
@given(charges)
def test_fee_1_a_fee_is_never_negative_and_adds_up(args):
    decision = assess_charge(WATER, **args)
    assert decision.total_fen >= 0
    assert all(line.amount_fen >= 0 for line in decision.lines)
    assert decision.total_fen == sum(line.amount_fen for line in decision.lines)
    assert all(isinstance(line.amount_fen, int) for line in decision.lines)


@FAST
@given(charges)
def test_fee_2_travel_never_exceeds_the_cap(args):
    decision = assess_charge(WATER, **args)
    travel = [line.amount_fen for line in decision.lines if line.code == "travel"]
    assert all(amount <= WATER.fees.distance.travel_fee_cap_fen for amount in travel)


@FAST
@given(
    pack_id=st.sampled_from(BUILTIN_PACKS),
    tier=st.sampled_from(CITY_TIERS),
    mode=st.sampled_from(["on_site", "depot"]),
    quantities=st.lists(st.integers(min_value=1, max_value=9), max_size=4),
    km=st.integers(min_value=0, max_value=30),
)
def test_war_1_covered_parts_with_a_free_visit_charge_nothing(pack_id, tier, mode, quantities, km):
    pack = PACKS[pack_id]
    product = sorted(pack.fees.visit_tariff_fen)[0]
    codes = sorted(pack.fees.parts) or ["any_part"]
    parts = [
        PartUse(code=codes[index % len(codes)], quantity=quantity, under_warranty=True)
        for index, quantity in enumerate(quantities)
    ]
    decision = assess_charge(
        pack,
        product=product,
        city_tier=tier,
        service_mode=mode,
        unit_in_warranty=True,
        parts=parts,
        distance_km=km,
    )
    assert decision.total_fen == 0


@FAST
@given(charges)
def test_fee_1_the_same_inputs_always_give_the_same_decision(args):
    first = assess_charge(WATER, **args)
    again = assess_charge(load_pack("water-heater"), **args)
    assert first == again
    assert first.model_dump_json() == again.model_dump_json()


@FAST
@given(calendar=st.sampled_from(CALENDARS), start=moments, window=windows)
def test_a_deadline_is_never_before_its_start(calendar, start, window):
    due = sla_deadline(calendar, start, window)
    assert due is not None
    assert due >= start
    assert due.tzinfo == calendar.zone


@FAST
@given(
    calendar=st.sampled_from(CALENDARS),
    start=moments,
    window=windows,
    offset_minutes=st.integers(min_value=-600, max_value=20000),
    length_minutes=st.integers(min_value=0, max_value=5000),
)
def test_pausing_then_resuming_never_shortens_a_deadline(
    calendar, start, window, offset_minutes, length_minutes
):
    plain = sla_deadline(calendar, start, window)
    # Build the pause in UTC: arithmetic on zoned datetimes counts wall-clock minutes, so
    # across a daylight-saving change a pause would last an hour more or less than said.
    pause_start = start.astimezone(UTC) + timedelta(minutes=offset_minutes)
    pause = Pause(pause_start, pause_start + timedelta(minutes=length_minutes))
    paused = sla_deadline(calendar, start, window, [pause])
    assert paused is not None and plain is not None
    assert paused >= plain
    # The extension is never more than the pause itself for elapsed clocks.
    if window.unit in ("minutes", "hours", "days"):
        assert paused.astimezone(UTC) - plain.astimezone(UTC) <= timedelta(minutes=length_minutes)


@FAST
@given(
    calendar=st.sampled_from(CALENDARS),
    start=moments,
    first=st.integers(0, 40),
    extra=st.integers(0, 40),
)
def test_more_working_hours_never_give_an_earlier_deadline(calendar, start, first, extra):
    assert calendar.add_working_hours(start, first) <= calendar.add_working_hours(
        start, first + extra
    )


@FAST
@given(calendar=st.sampled_from(CALENDARS), start=moments, hours=st.integers(0, 80))
def test_working_time_between_start_and_deadline_is_the_allowance(calendar, start, hours):
    due = calendar.add_working_hours(start, hours)
    assert calendar.working_time_between(start, due) == timedelta(hours=hours)


@FAST
@given(args=charges)
def test_fee_1_decimal_and_int_distances_agree(args):
    if isinstance(args["distance_km"], int):
        as_decimal = dict(args, distance_km=Decimal(args["distance_km"]))
        assert (
            assess_charge(WATER, **args).total_fen == assess_charge(WATER, **as_decimal).total_fen
        )
