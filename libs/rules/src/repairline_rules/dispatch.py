"""The visit's clocks: response (DSP-3), departure (DSP-6), lateness notice (DSP-7),
customer not found (DSP-9)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal

from repairline_rules.calendar import BusinessCalendar, Pause, sla_deadline
from repairline_rules.decision import Decision, aware, stamp, utc
from repairline_rules.packs import ANY_PRODUCT, PolicyPack, UnknownProduct, Window
from repairline_rules.registry import rule


def _local(pack: PolicyPack, moment: datetime) -> datetime:
    return moment.astimezone(pack.zone)


def _shift(pack: PolicyPack, moment: datetime, minutes: float) -> datetime:
    """``moment`` plus real minutes (negative for earlier), in the pack's zone."""
    return _local(pack, moment.astimezone(UTC) + timedelta(minutes=minutes))


class ResponseDecision(Decision):
    """DSP-3: the deadlines a request is held to; None where the pack commits to none."""

    started_at: datetime
    visit_by: datetime | None
    fix_by: datetime | None
    factory_repair_by: datetime | None
    depot_repair_by: datetime | None
    paused: bool
    reason: str


@rule("DSP-3")
def response_deadlines(
    pack: PolicyPack,
    *,
    received_at: datetime,
    central_city: bool = False,
    service_point_exists: bool = True,
    arrived_at_factory: datetime | None = None,
    product_line: str | None = None,
    pauses: Iterable[Pause] = (),
) -> ResponseDecision:
    """DSP-3: visit, fix, return-to-factory and depot deadlines under the pack.

    Visit and fix clocks start at ``received_at``; the return-to-factory clock at
    ``arrived_at_factory``; the depot promise (per ``product_line``, or the pack's
    ``*`` line) at ``received_at``. Pauses (waiting for the customer or for parts)
    hold every clock; while a pause is open the deadlines are None and ``paused`` is set.
    Where a visit commitment needs a service point and there is none, no visit
    deadline applies.
    """
    aware(received_at, "received_at")
    spec = pack.dispatch.response
    calendar = BusinessCalendar.from_pack(pack)
    pauses = tuple(pauses)
    paused = bool(pauses) and pauses[-1].end is None
    reasons: list[str] = []

    def due(start: datetime | None, window: Window | None, label: str) -> datetime | None:
        if start is None or window is None:
            return None
        reasons.append(f"{label} within {window.amount} {window.unit.replace('_', ' ')}")
        return sla_deadline(calendar, start, window, pauses)

    visit_window = (
        spec.visit_central_city if central_city and spec.visit_central_city else spec.visit
    )
    if spec.visit_needs_service_point and not service_point_exists:
        visit_window = None
        reasons.append("no service point: no visit commitment")
    depot_window = None
    if product_line is not None:
        depot_window = spec.depot_repair.get(product_line) or spec.depot_repair.get(ANY_PRODUCT)
        if depot_window is None and spec.depot_repair:
            raise UnknownProduct(f"pack {pack.id!r} promises no depot time for {product_line!r}")
    if arrived_at_factory is not None:
        aware(arrived_at_factory, "arrived_at_factory")
    return ResponseDecision(
        **stamp(pack, ["DSP-3"]),
        started_at=_local(pack, received_at),
        visit_by=due(received_at, visit_window, "visit"),
        fix_by=due(received_at, spec.fix, "fix"),
        factory_repair_by=due(arrived_at_factory, spec.factory_repair, "factory repair"),
        depot_repair_by=due(received_at, depot_window, "depot repair"),
        paused=paused,
        reason="; ".join(reasons) or "no response commitment in this pack",
    )


class DepartureDecision(Decision):
    """DSP-6: when to leave, and when to phone the customer."""

    depart_from: datetime
    depart_by: datetime
    arrive_from: datetime
    arrive_by: datetime
    phone_customer_at: datetime
    reason: str


@rule("DSP-6")
def plan_departure(
    pack: PolicyPack, *, appointment_at: datetime, travel_minutes: int
) -> DepartureDecision:
    """DSP-6: leave so as to arrive 5-10 minutes early; phone about 5 minutes before
    arriving. ``depart_by`` is the latest departure; ``depart_from`` the earliest that
    does not arrive earlier than 10 minutes ahead."""
    aware(appointment_at, "appointment_at")
    if travel_minutes < 0:
        raise ValueError("travel_minutes must not be negative")
    spec = pack.dispatch
    arrive_from = _shift(pack, appointment_at, -spec.early_arrival_max_minutes)
    arrive_by = _shift(pack, appointment_at, -spec.early_arrival_min_minutes)
    return DepartureDecision(
        **stamp(pack, ["DSP-6"]),
        depart_from=_shift(pack, arrive_from, -travel_minutes),
        depart_by=_shift(pack, arrive_by, -travel_minutes),
        arrive_from=arrive_from,
        arrive_by=arrive_by,
        phone_customer_at=_shift(pack, arrive_by, -spec.phone_ahead_minutes),
        reason=(
            f"arrive {spec.early_arrival_min_minutes}-{spec.early_arrival_max_minutes} minutes "
            f"early after {travel_minutes} minutes of travel"
        ),
    )


NoticeKind = Literal[
    "none",
    "running_late",
    "delay_within_half_day",
    "delay_beyond_half_day",
    "traffic_reschedule",
]
REFUSED_REASONS = frozenset({"too_many_customers"})


class LatenessNoticeDecision(Decision):
    """DSP-7: which lateness notice is due, to whom, and by when."""

    notice: NoticeKind
    delay_minutes: int
    notify_customer_by: datetime | None
    notify_customer_from: datetime | None
    agree_new_time: bool
    tell_dispatcher: bool
    reason_accepted: bool
    overdue: bool
    reason: str


@rule("DSP-7")
def lateness_notice(
    pack: PolicyPack,
    *,
    appointment_at: datetime,
    expected_arrival: datetime,
    known_at: datetime | None = None,
    cause: str | None = None,
) -> LatenessNoticeDecision:
    """DSP-7: the notice owed for a late arrival.

    Up to ``running_late_max_minutes`` late: tell the customer 5-10 minutes before the
    appointment. Later, within half a day: at least 30 minutes ahead, agreeing a new
    time. Beyond half a day: the pack's notice (4 h pc-depot, 2 h office-equipment).
    A traffic delay (``cause="traffic"``) beyond running late breaks the appointment:
    reschedule it at least 20 minutes ahead and tell the dispatcher (packs that set
    it). 'Too many customers' is never an accepted reason. ``overdue`` is set when
    the delay became known (``known_at``) after the notice was due: tell at once.
    """
    start = utc(appointment_at, "appointment_at")
    arrival = utc(expected_arrival, "expected_arrival")
    spec = pack.dispatch.lateness
    delay = max(0, int((arrival - start).total_seconds() // 60))
    fields: dict = {
        "delay_minutes": delay,
        "notify_customer_by": None,
        "notify_customer_from": None,
        "agree_new_time": False,
        "tell_dispatcher": False,
        "reason_accepted": cause not in REFUSED_REASONS,
    }
    traffic_minutes = spec.traffic_reschedule_notice_minutes
    if delay == 0:
        fields.update(notice="none", reason="on time")
    elif cause == "traffic" and traffic_minutes and delay > spec.running_late_max_minutes:
        fields.update(
            notice="traffic_reschedule",
            notify_customer_by=_shift(pack, appointment_at, -traffic_minutes),
            agree_new_time=True,
            tell_dispatcher=True,
            reason=(
                f"traffic delay of {delay} minutes breaks the appointment: reschedule at "
                f"least {traffic_minutes} minutes ahead and tell the dispatcher"
            ),
        )
    elif delay <= spec.running_late_max_minutes:
        low, high = spec.running_late_notice_min_minutes, spec.running_late_notice_max_minutes
        fields.update(
            notice="running_late",
            notify_customer_by=_shift(pack, appointment_at, -low),
            notify_customer_from=_shift(pack, appointment_at, -high),
            reason=(
                f"running {delay} minutes late: tell the customer {low}-{high} minutes "
                "before the appointment"
            ),
        )
    else:
        within = delay <= spec.half_day_minutes
        ahead = (
            spec.within_half_day_notice_minutes if within else spec.beyond_half_day_notice_minutes
        )
        fields.update(
            notice="delay_within_half_day" if within else "delay_beyond_half_day",
            notify_customer_by=_shift(pack, appointment_at, -ahead),
            agree_new_time=True,
            reason=(
                f"delay of {delay} minutes{'' if within else ', beyond half a day'}: tell the "
                f"customer at least {ahead} minutes ahead and agree a new time"
            ),
        )
    if not fields["reason_accepted"]:
        fields["reason"] += "; 'too many customers' is not an accepted reason"
    notify_by = fields["notify_customer_by"]
    overdue = (
        known_at is not None
        and notify_by is not None
        and utc(known_at, "known_at") > utc(notify_by, "notify_by")
    )
    if overdue:
        fields["reason"] += "; the notice is overdue: tell the customer at once"
    return LatenessNoticeDecision(**stamp(pack, ["DSP-7"]), overdue=overdue, **fields)


class NotFoundDecision(Decision):
    """DSP-9: the knock / phone / leave-a-note timeline when no one answers."""

    knock_at: tuple[datetime, ...]
    phone_at: datetime
    leave_note_at: datetime
    note_left_at: Literal["door", "front_desk"]
    report_to: str
    reason: str


@rule("DSP-9")
def customer_not_found(
    pack: PolicyPack, *, arrived_at: datetime, at_business: bool = False
) -> NotFoundDecision:
    """DSP-9: knock, repeating every 30 s; phone after 5 min (home-appliance) or 10 min
    (pc-depot); after 15 min in all leave a 'customer not found' note (未见顾客留言条)
    and report to the coordinator, who books again. At a business there is no knocking
    at a door: wait 15 min (phoning at the same point) and leave the note at the front
    desk."""
    aware(arrived_at, "arrived_at")
    spec = pack.dispatch.not_found
    knocks: tuple[datetime, ...] = ()
    if not at_business:
        count = spec.phone_after_minutes * 60 // spec.knock_interval_seconds
        knocks = tuple(
            _shift(pack, arrived_at, index * spec.knock_interval_seconds / 60)
            for index in range(count)
        )
    return NotFoundDecision(
        **stamp(pack, ["DSP-9"]),
        knock_at=knocks,
        phone_at=_shift(pack, arrived_at, spec.phone_after_minutes),
        leave_note_at=_shift(pack, arrived_at, spec.wait_minutes),
        note_left_at="front_desk" if at_business else "door",
        report_to="coordinator",
        reason=(f"phone after {spec.phone_after_minutes} min, note after {spec.wait_minutes} min"),
    )


class LeadDecision(Decision):
    """DSP-2: whether a window is far enough ahead for the pack."""

    earliest_start: datetime
    min_lead_days: int
    allowed: bool
    reason: str


@rule("DSP-2")
def appointment_lead(pack: PolicyPack, *, window_start: datetime, now: datetime) -> LeadDecision:
    """DSP-2: appointments are made at least ``appointment_min_lead_days`` ahead where the
    pack asks (office-equipment: 1): the window may start no earlier than midnight, in the
    pack's zone, that many days after ``now``. 0 allows any window still to come."""
    aware(window_start, "window_start")
    lead = pack.dispatch.appointment_min_lead_days
    local_now = _local(pack, aware(now, "now"))
    earliest = (
        datetime.combine(local_now.date() + timedelta(days=lead), datetime.min.time(), pack.zone)
        if lead
        else local_now
    )
    allowed = lead == 0 or utc(window_start, "window_start") >= utc(earliest, "earliest")
    reason = (
        f"appointments are made at least {lead} day(s) ahead: the window may start from "
        f"{earliest:%Y-%m-%d %H:%M}"
        if lead
        else "no lead time asked"
    )
    return LeadDecision(
        **stamp(pack, ["DSP-2"]),
        earliest_start=earliest,
        min_lead_days=lead,
        allowed=allowed,
        reason=reason,
    )


class UnreachableDecision(Decision):
    """DSP-8: what follows a failed attempt to reach the customer."""

    next_step: Literal["try_again_later", "go_anyway"]
    retry_at: datetime | None
    depart_by: datetime | None
    send_standard_sms: bool
    report_to: str | None
    keep_appointment: bool
    reason: str


@rule("DSP-8")
def unreachable_customer(
    pack: PolicyPack,
    *,
    attempt_at: datetime,
    depart_by: datetime | None,
    channel: Literal["phone", "mobile"],
    sms_already_sent: bool = False,
) -> UnreachableDecision:
    """DSP-8: try again later; if waiting for the next try would make the engineer late
    (it comes after ``depart_by``, the latest departure of DSP-6's plan), go to the address
    anyway and report to the coordinator. An unreachable mobile gets the standard SMS where
    the pack says so (office-equipment), once. The visit is kept as promised either way."""
    aware(attempt_at, "attempt_at")
    retry_at = _shift(pack, attempt_at, pack.dispatch.unreachable_retry_minutes)
    go = depart_by is not None and utc(retry_at, "retry_at") > utc(depart_by, "depart_by")
    sms = pack.dispatch.unreachable_sms and channel == "mobile" and not sms_already_sent
    if go:
        assert depart_by is not None
        reason = (
            f"the next try at {_local(pack, retry_at):%H:%M} is after the latest departure "
            f"{_local(pack, depart_by):%H:%M}: go to the address anyway and report to the "
            "coordinator"
        )
    else:
        reason = f"try again at {_local(pack, retry_at):%H:%M}"
    if sms:
        reason += "; the standard SMS is sent"
    return UnreachableDecision(
        **stamp(pack, ["DSP-8"]),
        next_step="go_anyway" if go else "try_again_later",
        retry_at=None if go else retry_at,
        depart_by=_local(pack, depart_by) if depart_by else None,
        send_standard_sms=sms,
        report_to="coordinator" if go else None,
        keep_appointment=True,
        reason=reason + "; the appointment is kept as promised",
    )
