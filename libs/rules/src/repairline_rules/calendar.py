"""Business time: working hours, holidays, time zones, and SLA clocks that pause.

All arithmetic is done in UTC, so an elapsed hour is a real hour across a
daylight-saving change; business hours and day boundaries are read in the pack's
local time. A working hour is a real hour that falls inside business hours.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from repairline_rules.decision import aware, utc
from repairline_rules.packs import WEEKDAYS, NotInPack, PolicyPack, Window

_FAR = timedelta(days=3660)  # a calendar with no working time for ten years is an error
Span = tuple[datetime, datetime]


class HolidaysNotPublished(NotInPack):
    """A working-time count that needs a day of a year the pack's calendar does not cover:
    that year's public holidays are not in the pack, so its working days are not known."""

    def __init__(self, pack_id: str, year: int, covered: Iterable[int]) -> None:
        self.pack_id = pack_id
        self.year = year
        self.covered = tuple(sorted(covered))
        years = ", ".join(map(str, self.covered))
        super().__init__(
            f"pack {pack_id!r} covers {years}: holidays not published for {year};"
            f" working time cannot be counted into {year} until the pack lists them"
        )


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours per weekday, holidays and make-up working days, in one time zone.

    ``hours[0]`` is Monday; each day is a tuple of (start, end) minutes after local
    midnight, ``end`` up to 1440. Make-up working days (调休) use ``makeup_hours``.
    ``years`` are the years whose holidays are known (a pack's ``calendar.years``): a day
    of another year raises HolidaysNotPublished; None (a calendar built by hand) knows
    every year.
    """

    timezone: str
    hours: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    makeup_hours: tuple[tuple[int, int], ...] = ()
    years: frozenset[int] | None = None
    pack_id: str = ""
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError("hours needs one entry per weekday, Monday first")
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))

    @classmethod
    def from_pack(cls, pack: PolicyPack) -> BusinessCalendar:
        """The calendar of a pack: its workdays, hours, holidays and time zone."""
        return _calendar_of(pack.id, pack.timezone, pack.calendar.model_dump_json())

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the calendar's time zone."""
        return aware(moment, "moment").astimezone(self.zone)

    def covers(self, day: date) -> bool:
        """True when the calendar knows ``day``'s holidays (its year is covered)."""
        return self.years is None or day.year in self.years

    def first_uncovered(self, today: date) -> date | None:
        """The first day from ``today`` on whose holidays the calendar does not know (a
        working-time count reaching it is refused); None when it knows every year."""
        if self.years is None:
            return None
        year = today.year
        while year in self.years:
            year += 1
        return today if year == today.year else date(year, 1, 1)

    def is_working_day(self, day: date) -> bool:
        """True when ``day`` has business hours (a workday that is not a holiday)."""
        return bool(self._day_spans(day))

    def working_spans(self, day: date) -> tuple[Span, ...]:
        """The day's business hours as UTC (start, end) pairs."""
        return self._day_spans(day)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - the calendar is immutable and small
    def _day_spans(self, day: date) -> tuple[Span, ...]:
        if not self.covers(day):
            raise HolidaysNotPublished(self.pack_id or self.timezone, day.year, self.years or ())
        if day in self.holidays:
            return ()
        ranges = self.makeup_hours if day in self.makeup_workdays else self.hours[day.weekday()]
        return tuple((self._at(day, start), self._at(day, end)) for start, end in ranges)

    def _at(self, day: date, minute: int) -> datetime:
        if minute == 1440:
            day, minute = day + timedelta(days=1), 0
        wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return wall.astimezone(UTC)

    def spans_from(self, start: datetime) -> Iterator[Span]:
        """Business hours from ``start`` on, clipped to it, in UTC, in order."""
        start = utc(start, "start")
        day = start.astimezone(self.zone).date()
        if self.covers(day - timedelta(days=1)):  # hours of the day before ending after midnight
            day -= timedelta(days=1)
        limit = day + _FAR
        while day < limit:
            for begin, end in self._day_spans(day):
                if end > start:
                    yield max(begin, start), end
            day += timedelta(days=1)
        raise ValueError(f"calendar in {self.timezone} has no working time for ten years")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The business hours between two moments (zero when ``end`` is not after ``start``)."""
        end = utc(end, "end")
        total = timedelta()
        for begin, finish in self.spans_from(start):
            if begin >= end:
                break
            total += min(finish, end) - begin
            if finish >= end:  # the day after ``end`` is not needed (it may not be covered)
                break
        return total

    def add_working_hours(self, start: datetime, hours: float | timedelta) -> datetime:
        """The moment when ``hours`` of business time have passed since ``start``."""
        budget = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
        return self.local(_consume(utc(start, "start"), budget, self.spans_from(start), ()))

    def end_of_working_day(self, day: date) -> datetime:
        """When business ends on ``day`` (local time); ValueError if it is not a working day."""
        spans = self._day_spans(day)
        if not spans:
            raise ValueError(f"{day} is not a working day")
        return spans[-1][1].astimezone(self.zone)

    def nth_working_day_after(self, start: datetime, days: int) -> date:
        """The ``days``-th working day after the local date of ``start`` (that day not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = self.local(start).date()
        limit = day + _FAR
        while days > 0:
            day += timedelta(days=1)
            if day > limit:
                raise ValueError(f"calendar in {self.timezone} has no working day for ten years")
            if self._day_spans(day):
                days -= 1
        return day

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Close of business on the ``days``-th working day after the day of ``start``.

        The day of ``start`` itself is not counted, whatever the hour: a complaint
        received on Monday with 3 working days is due at close of business on
        Thursday. Zero days means close of business today (or ``start`` if later).
        """
        if days == 0:
            local = self.local(start)
            spans = self._day_spans(local.date())
            return max(local, spans[-1][1].astimezone(self.zone)) if spans else local
        return self.end_of_working_day(self.nth_working_day_after(start, days))

    def next_working_day_at(self, after: datetime, at: time | None = None) -> datetime:
        """On the first working day after the local date of ``after``: ``at`` or opening time."""
        day = self.nth_working_day_after(after, 1)
        if at is None:
            return self._day_spans(day)[0][0].astimezone(self.zone)
        return datetime.combine(day, at, tzinfo=self.zone)


@functools.lru_cache(maxsize=64)
def _calendar_of(pack_id: str, timezone: str, spec_json: str) -> BusinessCalendar:
    from repairline_rules.packs import CalendarSpec

    spec = CalendarSpec.model_validate_json(spec_json)

    def minutes(ranges: Iterable) -> tuple[tuple[int, int], ...]:
        return tuple((item.start_minute, item.end_minute) for item in ranges)

    hours = tuple(
        minutes(spec.hours_by_day.get(name, spec.hours)) if name in spec.workdays else ()
        for name in WEEKDAYS
    )
    return BusinessCalendar(
        timezone=timezone,
        hours=hours,
        holidays=frozenset(spec.holidays),
        makeup_workdays=frozenset(spec.makeup_workdays),
        makeup_hours=minutes(spec.hours),
        years=frozenset(spec.years),
        pack_id=pack_id,
    )


@dataclass(frozen=True)
class Pause:
    """A stretch of time during which an SLA clock does not run; ``end`` None while open."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        aware(self.start, "pause start")
        if self.end is not None and utc(self.end, "pause end") < utc(self.start, "pause start"):
            raise ValueError("a pause cannot end before it starts")


def _merged(pauses: Iterable[Pause]) -> tuple[tuple[datetime, datetime | None], ...]:
    spans = sorted(
        (
            (utc(p.start, "pause start"), None if p.end is None else utc(p.end, "pause end"))
            for p in pauses
        ),
        key=lambda span: span[0],
    )
    merged: list[tuple[datetime, datetime | None]] = []
    for begin, end in spans:
        if merged:
            last_begin, last_end = merged[-1]
            if last_end is None or begin <= last_end:
                new_end = None if last_end is None or end is None else max(last_end, end)
                merged[-1] = (last_begin, new_end)
                continue
        merged.append((begin, end))
    return tuple(merged)


def _consume(
    start: datetime,
    budget: timedelta,
    spans: Iterable[Span],
    pauses: Sequence[tuple[datetime, datetime | None]],
) -> datetime | None:
    """Walk ``spans`` minus ``pauses`` from ``start`` until ``budget`` is used up.

    None when an open pause stops the clock before the budget is used.
    """
    if budget < timedelta():
        raise ValueError("a time allowance cannot be negative")
    if budget == timedelta():
        return start
    remaining = budget
    for begin, end in spans:
        begin = max(begin, start)
        if end <= begin:
            continue
        for piece_begin, piece_end in _minus(begin, end, pauses):
            if piece_end is None:
                return None
            length = piece_end - piece_begin
            if length >= remaining:
                return piece_begin + remaining
            remaining -= length
    raise AssertionError("spans ended before the budget was used")  # pragma: no cover


def _minus(
    begin: datetime, end: datetime, pauses: Sequence[tuple[datetime, datetime | None]]
) -> Iterator[tuple[datetime, datetime | None]]:
    """The parts of [begin, end) outside the pauses; (x, None) marks an open pause."""
    cursor = begin
    for pause_begin, pause_end in pauses:
        if pause_end is not None and pause_end <= cursor:
            continue
        if pause_begin >= end:
            break
        if pause_begin > cursor:
            yield cursor, pause_begin
        if pause_end is None:
            yield cursor, None
            return
        cursor = max(cursor, pause_end)
        if cursor >= end:
            return
    if cursor < end:
        yield cursor, end


def _elapsed(start: datetime) -> Iterator[Span]:
    yield start, start + _FAR * 10


def window_delta(window: Window) -> timedelta:
    """The length of an elapsed-time window; ValueError for working units."""
    if window.unit == "minutes":
        return timedelta(minutes=window.amount)
    if window.unit == "hours":
        return timedelta(hours=window.amount)
    if window.unit == "days":
        return timedelta(days=window.amount)
    raise ValueError(f"a {window.unit} window has no fixed length")


def sla_deadline(
    calendar: BusinessCalendar,
    started_at: datetime,
    window: Window,
    pauses: Iterable[Pause] = (),
) -> datetime | None:
    """When ``window`` runs out from ``started_at``, not counting the pauses.

    Elapsed windows (minutes, hours, days) count every real second; working hours
    count business hours only; working days end at close of business on the n-th
    working day after the start, and a pause moves that deadline by the business
    time it covered (so a pause across a night moves nothing). None while an open
    pause holds the clock.
    """
    start = utc(started_at, "started_at")
    merged = _merged(pauses)
    if window.unit in ("minutes", "hours", "days"):
        result = _consume(start, window_delta(window), _elapsed(start), merged)
    else:
        if window.unit == "working_hours":
            budget = timedelta(hours=window.amount)
        else:
            due = calendar.add_working_days(started_at, window.amount)
            budget = calendar.working_time_between(started_at, due)
            if budget == timedelta():
                return due
        result = _consume(start, budget, calendar.spans_from(start), merged)
    return None if result is None else calendar.local(result)


@dataclass(frozen=True)
class SlaClock:
    """A deadline clock that can pause (waiting for the customer or parts) and resume.

    Immutable: ``pause`` and ``resume`` return a new clock.
    """

    calendar: BusinessCalendar
    started_at: datetime
    window: Window
    pauses: tuple[Pause, ...] = ()

    def __post_init__(self) -> None:
        aware(self.started_at, "started_at")

    @property
    def paused(self) -> bool:
        """True while the last pause is open."""
        return bool(self.pauses) and self.pauses[-1].end is None

    def pause(self, at: datetime) -> SlaClock:
        """Stop the clock at ``at``."""
        if self.paused:
            raise ValueError("the clock is already paused")
        last_end = self.pauses[-1].end if self.pauses else None
        if last_end is not None and utc(at, "at") < utc(last_end, "pause end"):
            raise ValueError("a pause cannot start before the previous one ended")
        return replace(self, pauses=(*self.pauses, Pause(start=at)))

    def resume(self, at: datetime) -> SlaClock:
        """Restart the clock at ``at``."""
        if not self.paused:
            raise ValueError("the clock is not paused")
        last = self.pauses[-1]
        return replace(self, pauses=(*self.pauses[:-1], Pause(start=last.start, end=at)))

    def deadline(self) -> datetime | None:
        """When the allowance runs out; None while paused (the deadline is not known yet)."""
        return sla_deadline(self.calendar, self.started_at, self.window, self.pauses)

    def breached(self, at: datetime) -> bool:
        """True when ``at`` is past the deadline. While paused, only if the allowance ran
        out before the pause began."""
        due = self.deadline()
        if due is None:
            closed = tuple(p for p in self.pauses if p.end is not None)
            due = sla_deadline(self.calendar, self.started_at, self.window, closed)
            if due is None or utc(due, "due") > utc(self.pauses[-1].start, "pause start"):
                return False
        return utc(at, "at") > utc(due, "due")
