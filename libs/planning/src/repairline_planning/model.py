"""The instance a day plan is made for: jobs, engineers and the day they share.

Times inside a plan are integer seconds after local midnight of the plan's day in the
pack's zone (`Instance.at` turns them into timezone-aware datetimes); solvers need
integers and a day plan never crosses midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HOUR = 3600
MINUTE = 60


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class Window:
    """An interval of the day, seconds after local midnight; ``end`` included."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window ends ({self.end}) before it starts ({self.start})")

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Job:
    """A visit to plan. ``window`` bounds the start of service: the window agreed with the
    customer (``agreed``, DSP-2) or the customer's preferred times. ``sla_due`` is the
    DSP-3 "on site by" when it falls on this day; ``part_ready`` the time the part the job
    waits for arrives (DSP-4)."""

    job_id: str
    location: Point
    skill: str
    duration: int
    window: Window
    agreed: bool = False
    sla_due: int | None = None
    part_ready: int | None = None
    district: str = ""

    @property
    def earliest(self) -> int:
        """DSP-2, DSP-4: not before the window, not before the part arrives."""
        return max(self.window.start, self.part_ready or 0)

    @property
    def latest(self) -> int:
        return self.window.end

    @property
    def due_latest(self) -> int:
        """DSP-3: the latest start with the window closed at the deadline (when the
        deadline falls inside it): the solvers plan due jobs on time first."""
        if self.sla_due is not None and self.earliest <= self.sla_due < self.latest:
            return self.sla_due
        return self.latest


@dataclass(frozen=True)
class Engineer:
    """An engineer's day: leaves home at the shift's start at the earliest, is home by its
    end, takes lunch at the fixed hour, does at most ``capacity`` jobs."""

    engineer_id: str
    home: Point
    skills: frozenset[str]
    shift: Window
    lunch: Window
    capacity: int


@dataclass(frozen=True)
class Instance:
    """One region's day: the jobs to plan and the engineers on shift. ``margin`` is the
    DSP-6 arrival margin: an engineer is planned to arrive this many seconds before the
    start of service."""

    region: str
    day: date
    zone: str
    jobs: tuple[Job, ...]
    engineers: tuple[Engineer, ...]
    margin: int = 5 * MINUTE
    pack_id: str = ""

    def at(self, seconds: int) -> datetime:
        """The aware datetime of ``seconds`` after local midnight of the day."""
        midnight = datetime.combine(self.day, time(0), ZoneInfo(self.zone))
        return midnight + timedelta(seconds=seconds)

    def job(self, job_id: str) -> Job:
        return self._jobs_by_id()[job_id]

    def engineer(self, engineer_id: str) -> Engineer:
        return next(e for e in self.engineers if e.engineer_id == engineer_id)

    def _jobs_by_id(self) -> dict[str, Job]:
        cached = self.__dict__.get("_by_id")
        if cached is None:
            cached = {j.job_id: j for j in self.jobs}
            object.__setattr__(self, "_by_id", cached)
        return cached


def clock(seconds: int) -> str:
    """HH:MM of seconds after midnight."""
    return f"{seconds // HOUR:02d}:{seconds % HOUR // MINUTE:02d}"
