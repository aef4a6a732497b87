"""Policy packs: one validated TOML file per network, loaded whole or not at all.

Business rules are code; their numbers are data. A pack holds one network's numbers
(warranty terms, tariffs, response commitments, callback schedule, penalties,
business hours and holidays, time zone). ``load_pack`` validates a pack completely
and raises ``PackError`` naming the file, the field and the problem for every error
found; nothing is ever half-loaded.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

BUILTIN_PACKS: tuple[str, ...] = (
    "home-appliance",
    "software-support",
    "pc-depot",
    "water-heater",
    "office-equipment",
)

CityTier = Literal["municipality", "provincial_capital", "prefecture_city", "county_city"]
CITY_TIERS: tuple[CityTier, ...] = (
    "municipality",
    "provincial_capital",
    "prefecture_city",
    "county_city",
)
ServiceMode = Literal["on_site", "depot"]
SERVICE_MODES: tuple[ServiceMode, ...] = ("on_site", "depot")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WindowUnit = Literal["minutes", "hours", "days", "working_hours", "working_days"]

ANY_PRODUCT = "*"
# A version label on events is a file version, or one followed by `+<later version>` for
# each later version whose open-ticket sections applied to a ticket opened before it.
COMPOSED_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*(\+[0-9A-Za-z][0-9A-Za-z._-]*)*$")
OpenTicketSection = Literal[
    "calendar",
    "warranty",
    "guarantees",
    "fees",
    "fees.visit_tariff_fen",
    "fees.parts",
    "fees.distance",
    "fees.wiring",
    "dispatch",
    "dispatch.response",
    "dispatch.lateness",
    "penalties",
    "followup",
    "assessment",
]
OPEN_TICKET_SECTIONS: tuple[str, ...] = get_args(OpenTicketSection)
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$|^\*$")


class PackError(ValueError):
    """A policy pack that cannot be used; the message lists every problem found.

    Each problem is one line ``<file>: <dotted.field>: <problem>``.
    """

    def __init__(self, problems: Iterable[tuple[str, str, str]]) -> None:
        self.problems: tuple[tuple[str, str, str], ...] = tuple(problems)
        lines = [
            f"{source}: {field or '<pack>'}: {problem}" for source, field, problem in self.problems
        ]
        sources = ", ".join(dict.fromkeys(source for source, _, _ in self.problems))
        count = len(self.problems)
        header = f"invalid policy pack {sources} ({count} problem{'s' if count != 1 else ''})"
        super().__init__("\n".join([header, *lines]))


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _check_clock(value: str) -> str:
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise ValueError(f"expected a time of day 'HH:MM' (00:00 to 24:00), got {value!r}")
    return value


Clock = Annotated[str, BeforeValidator(_check_clock)]
Name = Annotated[str, Field(pattern=_NAME.pattern)]


class TimeRange(_Spec):
    """A span of a working day in local wall-clock time; ``end`` may be ``24:00``."""

    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.start == "24:00":
            raise ValueError("start cannot be 24:00")
        if _minutes(self.end) <= _minutes(self.start):
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end)


def _check_hours(value: tuple[TimeRange, ...]) -> tuple[TimeRange, ...]:
    for before, after in itertools.pairwise(value):
        if after.start_minute < before.end_minute:
            raise ValueError(
                f"time ranges must be in order and not overlap: {before.start}-{before.end} "
                f"then {after.start}-{after.end}"
            )
    return value


DayHours = Annotated[tuple[TimeRange, ...], Field(min_length=1)]


class CalendarSpec(_Spec):
    """Business hours, holidays and make-up working days (调休) of a network, for the
    years whose public holidays the pack lists (``years``)."""

    workdays: tuple[Weekday, ...] = Field(
        min_length=1, description="The weekdays with business hours (`mon` .. `sun`)."
    )
    hours: DayHours = Field(
        description="Business hours of a workday (and of a make-up working day), local time."
    )
    hours_by_day: dict[Weekday, DayHours] = Field(
        default_factory=dict, description="Other hours for some workdays (e.g. `sat`)."
    )
    holidays: tuple[date, ...] = Field(
        default=(), description="Public holidays: no business hours, whatever the weekday."
    )
    makeup_workdays: tuple[date, ...] = Field(
        default=(),
        description="Make-up working days (调休): business hours (`hours`) on a weekend day.",
    )
    years: tuple[Annotated[int, Field(ge=1900, le=9999)], ...] = Field(
        min_length=1,
        description="The years whose holidays and make-up days this calendar lists (e.g."
        " `[2025, 2026]`). Every listed date is inside them, and a working-time count"
        " (working hours or days, next working day) that reaches another year is refused:"
        " its holidays are not published in the pack.",
    )

    @field_validator("hours")
    @classmethod
    def _hours_ordered(cls, value: tuple[TimeRange, ...]) -> tuple[TimeRange, ...]:
        return _check_hours(value)

    @field_validator("hours_by_day")
    @classmethod
    def _each_day_ordered(cls, value: dict[str, tuple[TimeRange, ...]]) -> dict:
        for hours in value.values():
            _check_hours(hours)
        return value

    @field_validator("workdays")
    @classmethod
    def _no_repeated_day(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a weekday is listed twice")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CalendarSpec:
        both = sorted(set(self.holidays) & set(self.makeup_workdays))
        if both:
            raise ValueError(
                f"dates both holiday and make-up working day: {', '.join(map(str, both))}"
            )
        stray = sorted(set(self.hours_by_day) - set(self.workdays))
        if stray:
            raise ValueError(f"hours_by_day names days that are not workdays: {', '.join(stray)}")
        if len(set(self.years)) != len(self.years):
            raise ValueError("a year is listed twice in years")
        outside = sorted(
            d for d in {*self.holidays, *self.makeup_workdays} if d.year not in self.years
        )
        if outside:
            covered = ", ".join(map(str, sorted(self.years)))
            raise ValueError(
                f"dates outside the covered years ({covered}): {', '.join(map(str, outside))}"
            )
        return self


def _tier_fees(value: Any) -> Any:
    # A flat fee (one number) stands for the same fee in every city tier.
    if isinstance(value, int) and not isinstance(value, bool):
        return dict.fromkeys(CITY_TIERS, value)
    return value


class TierFees(_Spec):
    """One fee per city tier, in fen."""

    municipality: NonNegativeInt
    provincial_capital: NonNegativeInt
    prefecture_city: NonNegativeInt
    county_city: NonNegativeInt

    def for_tier(self, tier: str) -> int:
        return int(getattr(self, tier))


TierFeeField = Annotated[TierFees, BeforeValidator(_tier_fees)]


class VisitTariff(_Spec):
    """FEE-1: the visit (on-site) and depot repair fee of one product line."""

    on_site: TierFeeField | None = None
    depot: TierFeeField | None = None

    @model_validator(mode="after")
    def _some_mode(self) -> VisitTariff:
        if self.on_site is None and self.depot is None:
            raise ValueError("give a fee for on_site, depot or both")
        return self


class PartPrice(_Spec):
    """One entry of the published parts price list."""

    description: str = Field(min_length=1)
    price_fen: NonNegativeInt


class DistanceSpec(_Spec):
    """FEE-2: travel is free within ``free_km``; beyond, an agreed fee up to the cap."""

    free_km: NonNegativeInt
    travel_fee_cap_fen: NonNegativeInt


class WiringSpec(_Spec):
    """FEE-3: a dedicated supply line beyond ``free_m`` costs labour per metre."""

    free_m: NonNegativeInt
    labour_fen_per_m: NonNegativeInt


class TravelAllowanceSpec(_Spec):
    """FEE-7: an engineer's travel allowance per trip day."""

    hotel_cap_fen_per_night: NonNegativeInt
    meals_fen_per_day: NonNegativeInt
    half_day_cutoff: Clock = "12:00"


class ContractSpec(_Spec):
    """FEE-8: a maintenance contract's length; visits within it are unlimited."""

    months: PositiveInt
    visits_per_term: PositiveInt | None = None


class FeesSpec(_Spec):
    """Everything a network charges, and what it pays and fines, in fen."""

    visit_tariff_fen: dict[Name, VisitTariff] = Field(min_length=1)
    parts: dict[Name, PartPrice] = Field(default_factory=dict)
    distance: DistanceSpec | None = None
    wiring: WiringSpec | None = None
    overcharge_fine_multiplier: PositiveInt = 10
    settlement_days: PositiveInt = 60
    travel_allowance: TravelAllowanceSpec | None = None
    contract: ContractSpec | None = None


class ProductWarranty(_Spec):
    """WAR-1 and WAR-2: warranty terms of one product line, in months."""

    unit_months: PositiveInt
    free_on_site_months: NonNegativeInt | None = None
    parts_months: dict[Name, PositiveInt] = Field(default_factory=dict)

    @property
    def on_site_months(self) -> int:
        """The free on-site period; the whole-unit warranty unless the pack says otherwise."""
        if self.free_on_site_months is None:
            return self.unit_months
        return self.free_on_site_months

    @model_validator(mode="after")
    def _on_site_within_warranty(self) -> ProductWarranty:
        if self.free_on_site_months is not None and self.free_on_site_months > self.unit_months:
            raise ValueError(
                f"free_on_site_months ({self.free_on_site_months}) cannot exceed "
                f"unit_months ({self.unit_months})"
            )
        return self


class WarrantySpec(_Spec):
    """Warranty terms (WAR-1..5), repair quality (WAR-10) and extension reward (WAR-11)."""

    products: dict[Name, ProductWarranty] = Field(min_length=1)
    min_supply_voltage_v: PositiveInt = 198
    max_supply_voltage_v: PositiveInt = 242
    repair_works_days: PositiveInt = 30
    repeat_fault_free_months: PositiveInt = 3
    extension_months: PositiveInt = 12

    @model_validator(mode="after")
    def _voltage_range(self) -> WarrantySpec:
        if self.min_supply_voltage_v >= self.max_supply_voltage_v:
            raise ValueError("min_supply_voltage_v must be below max_supply_voltage_v")
        return self


class GuaranteesSpec(_Spec):
    """WAR-6..9: the national three-guarantees (三包) periods."""

    return_days: PositiveInt = 7
    exchange_days: PositiveInt = 15
    failed_repairs_for_exchange: PositiveInt = 2
    parts_wait_days: PositiveInt = 90

    @model_validator(mode="after")
    def _ordered(self) -> GuaranteesSpec:
        if self.return_days > self.exchange_days:
            raise ValueError("return_days cannot exceed exchange_days")
        return self


class Window(_Spec):
    """A time allowance: elapsed minutes, hours or days, or working hours or days."""

    amount: NonNegativeInt
    unit: WindowUnit


class ResponseSpec(_Spec):
    """DSP-3: response commitments. Any may be absent when the network has none."""

    visit: Window | None = None
    visit_central_city: Window | None = None
    visit_needs_service_point: bool = False
    fix: Window | None = None
    factory_repair: Window | None = None
    depot_repair: dict[Name, Window] = Field(default_factory=dict)


class LatenessSpec(_Spec):
    """DSP-7: how far ahead a customer is told the engineer will be late."""

    running_late_max_minutes: PositiveInt
    running_late_notice_min_minutes: PositiveInt = 5
    running_late_notice_max_minutes: PositiveInt = 10
    half_day_minutes: PositiveInt = 240
    within_half_day_notice_minutes: PositiveInt = 30
    beyond_half_day_notice_minutes: PositiveInt
    traffic_reschedule_notice_minutes: PositiveInt | None = None

    @model_validator(mode="after")
    def _ordered(self) -> LatenessSpec:
        if self.running_late_notice_min_minutes > self.running_late_notice_max_minutes:
            raise ValueError("running_late_notice_min_minutes exceeds the max")
        if self.running_late_max_minutes >= self.half_day_minutes:
            raise ValueError("running_late_max_minutes must be below half_day_minutes")
        return self


class NotFoundSpec(_Spec):
    """DSP-9: knock, phone, wait, then leave a note."""

    knock_interval_seconds: PositiveInt = 30
    phone_after_minutes: PositiveInt
    wait_minutes: PositiveInt = 15

    @model_validator(mode="after")
    def _phone_before_leaving(self) -> NotFoundSpec:
        if self.phone_after_minutes > self.wait_minutes:
            raise ValueError("phone_after_minutes cannot exceed wait_minutes")
        return self


class DispatchSpec(_Spec):
    """The visit's clocks: response, departure, lateness, customer not found."""

    confirm_visit_minutes: PositiveInt | None = None
    early_arrival_min_minutes: NonNegativeInt = 5
    early_arrival_max_minutes: NonNegativeInt = 10
    phone_ahead_minutes: NonNegativeInt = 5
    appointment_min_lead_days: NonNegativeInt = Field(
        default=0,
        description="DSP-2: appointments are made at least this many days ahead (0: same day).",
    )
    unreachable_retry_minutes: PositiveInt = Field(
        default=15, description="DSP-8: try an unreachable customer again after this long."
    )
    unreachable_sms: bool = Field(
        default=False, description="DSP-8: an unreachable mobile gets the standard SMS."
    )
    depot_inspection_minutes: PositiveInt = Field(
        default=20, description="INT-7: the estimated inspection time told at the depot counter."
    )
    installation_test_run_minutes: PositiveInt = Field(
        default=10, description="DSP-12: the test run an installation job includes."
    )
    response: ResponseSpec = ResponseSpec()
    lateness: LatenessSpec
    not_found: NotFoundSpec

    @model_validator(mode="after")
    def _early_ordered(self) -> DispatchSpec:
        if self.early_arrival_min_minutes > self.early_arrival_max_minutes:
            raise ValueError("early_arrival_min_minutes exceeds early_arrival_max_minutes")
        return self


class ComplaintPenaltySpec(_Spec):
    """PEN-1: fine per verified complaint; repeat offence; N complaints in a window."""

    fine_fen: NonNegativeInt
    window_months: PositiveInt = 6
    demotion_threshold: PositiveInt = 3


class PenaltiesSpec(_Spec):
    """PEN-1..6 amounts in fen. An absent amount is not part of the network's policy."""

    payee: str = Field(default="after_sales_fund", min_length=1)
    complaint: ComplaintPenaltySpec | None = None
    form_late_fen: NonNegativeInt | None = None
    form_grace_days: NonNegativeInt = 1
    visit_unrecorded_fen: NonNegativeInt | None = None
    remote_unrecorded_fen: NonNegativeInt | None = None
    implementation_form_fen: NonNegativeInt | None = None
    implementation_form_days: PositiveInt = 3
    unreachable_fine_min_fen: NonNegativeInt | None = None
    unreachable_fine_max_fen: NonNegativeInt | None = None
    unreachable_repeat_count: PositiveInt = 2

    @model_validator(mode="after")
    def _unreachable_range(self) -> PenaltiesSpec:
        low, high = self.unreachable_fine_min_fen, self.unreachable_fine_max_fen
        if (low is None) != (high is None):
            raise ValueError("give both unreachable_fine_min_fen and unreachable_fine_max_fen")
        if low is not None and high is not None and low > high:
            raise ValueError("unreachable_fine_min_fen exceeds unreachable_fine_max_fen")
        return self


class AssessmentSpec(_Spec):
    """PEN-8: how an engineer's period is scored. Each component starts at 100 and
    loses the points per proven fact (never below 0); satisfaction is the mean of the
    callback grades' points. The total is the weighted mean; the band its threshold."""

    weight_attitude: NonNegativeInt = 25
    weight_quality: NonNegativeInt = 25
    weight_efficiency: NonNegativeInt = 25
    weight_satisfaction: NonNegativeInt = 25
    attitude_complaint_points: NonNegativeInt = 25
    quality_complaint_points: NonNegativeInt = 25
    repeat_failure_points: NonNegativeInt = 25
    missed_appointment_points: NonNegativeInt = 25
    lateness_complaint_points: NonNegativeInt = 10
    sla_breach_points: NonNegativeInt = 10
    satisfied_points: Annotated[int, Field(ge=0, le=100)] = 100
    average_points: Annotated[int, Field(ge=0, le=100)] = 60
    dissatisfied_points: Annotated[int, Field(ge=0, le=100)] = 0
    no_callback_points: Annotated[int, Field(ge=0, le=100)] = 100
    excellent_from: Annotated[int, Field(ge=0, le=100)] = 90
    good_from: Annotated[int, Field(ge=0, le=100)] = 75

    @model_validator(mode="after")
    def _shape(self) -> AssessmentSpec:
        weights = (
            self.weight_attitude,
            self.weight_quality,
            self.weight_efficiency,
            self.weight_satisfaction,
        )
        if sum(weights) == 0:
            raise ValueError("the assessment weights must not all be 0")
        if self.good_from > self.excellent_from:
            raise ValueError("good_from exceeds excellent_from")
        return self


class AfterServiceSpec(_Spec):
    """FBK-2: when the callback after a service is due."""

    rule: Literal["next_working_day", "after_window"]
    at: Clock | None = None
    window: Window | None = None
    callback_list: str | None = None
    coverage_percent: Annotated[int, Field(ge=1, le=100)] = 100

    @model_validator(mode="after")
    def _shape(self) -> AfterServiceSpec:
        if self.rule == "after_window" and self.window is None:
            raise ValueError("rule 'after_window' needs a window")
        if self.rule == "next_working_day" and self.window is not None:
            raise ValueError("rule 'next_working_day' takes 'at', not a window")
        return self


class FollowupSpec(_Spec):
    """Callbacks and complaints (FBK-1..3, FBK-5, FBK-6)."""

    after_guidance: Window
    after_service: AfterServiceSpec
    retry_after: Window
    max_attempts: PositiveInt | None = None
    dissatisfied_first_days: PositiveInt = 7
    dissatisfied_second_months: PositiveInt = 1
    complaint_answer: Window


class PolicyPack(_Spec):
    """One network's policy: every number the rules need, validated.

    One version of a pack. A pack file holds its first version at the top and may list
    later ones under ``[[versions]]``, each with only what changed and the date it takes
    effect (see ``load_pack_versions``).
    """

    id: Name
    version: str = Field(
        pattern=COMPOSED_VERSION.pattern,
        description="The version's label, such as `2026.1` (letters, digits, `.`, `_`, `-`).",
    )
    name: str = Field(min_length=1)
    effective_from: date | None = Field(
        default=None,
        description="The day (in the pack's time zone) this version takes effect: tickets"
        " opened from that day on are decided by it. Absent on a pack's first version: in"
        " force from the start.",
    )
    open_tickets: tuple[OpenTicketSection, ...] = Field(
        default=(),
        description="Sections of this version that apply, from its effective date, to tickets"
        " opened before it too (for example `fees.visit_tariff_fen`). Every other section"
        " decides only tickets opened from its effective date on.",
    )
    timezone: str
    calendar: CalendarSpec
    warranty: WarrantySpec
    guarantees: GuaranteesSpec | None = None
    fees: FeesSpec
    dispatch: DispatchSpec
    penalties: PenaltiesSpec = PenaltiesSpec()
    followup: FollowupSpec
    assessment: AssessmentSpec = AssessmentSpec()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            hint = "use an IANA name such as 'Asia/Shanghai'"
            raise ValueError(f"unknown time zone {value!r} ({hint})") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The pack's time zone: business hours, holidays and day boundaries are local to it."""
        return ZoneInfo(self.timezone)

    def product_warranty(self, product: str) -> ProductWarranty:
        """WAR-1: the product's warranty terms, or the pack's ``*`` terms for other products."""
        terms = self.warranty.products.get(product) or self.warranty.products.get(ANY_PRODUCT)
        if terms is None:
            known = ", ".join(sorted(self.warranty.products))
            raise UnknownProduct(
                f"pack {self.id!r} has no warranty terms for {product!r}; known: {known}"
            )
        return terms

    def visit_tariff(self, product: str) -> VisitTariff:
        """FEE-1: the product's tariff, or the pack's ``*`` tariff for other products."""
        tariffs = self.fees.visit_tariff_fen
        tariff = tariffs.get(product) or tariffs.get(ANY_PRODUCT)
        if tariff is None:
            known = ", ".join(sorted(self.fees.visit_tariff_fen))
            raise UnknownProduct(f"pack {self.id!r} has no tariff for {product!r}; known: {known}")
        return tariff


class UnknownProduct(ValueError):
    """A product, part or product line the pack has no terms for."""


class NotInPack(ValueError):
    """A rule the pack does not apply (its numbers are absent from the pack)."""


def require(value: Any, pack: PolicyPack, field: str, rule_id: str) -> Any:
    """``value`` if the pack sets it, else NotInPack naming the pack, the field and the rule."""
    if value is None:
        raise NotInPack(f"pack {pack.id!r} {pack.version} does not set {field} ({rule_id})")
    return value


def _resolve(ref: str | Path) -> tuple[str, Path | Traversable]:
    if isinstance(ref, Path) or "/" in ref or "\\" in ref or ref.endswith(".toml"):
        path = Path(ref)
        return str(path), path
    if ref not in BUILTIN_PACKS:
        known = ", ".join(BUILTIN_PACKS)
        raise PackError([(ref, "", f"unknown built-in pack {ref!r}; built-in: {known}")])
    resource = resources.files("repairline_rules").joinpath("packs", f"{ref}.toml")
    return f"{ref}.toml", resource


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def load_pack(ref: str | Path) -> PolicyPack:
    """Load and validate a pack: a built-in id (``"water-heater"``) or a TOML file path.

    Answers the file's first version; ``load_pack_versions`` answers all of them.
    Raises PackError listing every problem as ``<file>: <dotted.field>: <problem>``.
    """
    return load_pack_versions(ref)[0]


def read_pack_file(ref: str | Path) -> tuple[str, dict[str, Any]]:
    """The pack file's source name and its TOML data, or PackError."""
    source, resource = _resolve(ref)
    try:
        raw = resource.read_bytes()
    except OSError as error:
        problem = f"cannot read the file: {error.strerror or error}"
        raise PackError([(source, "", problem)]) from None
    try:
        return source, tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise PackError([(source, "", f"not UTF-8 text: {error}")]) from None
    except tomllib.TOMLDecodeError as error:
        raise PackError([(source, "", f"not valid TOML: {error}")]) from None


def load_pack_versions(ref: str | Path) -> tuple[PolicyPack, ...]:
    """Every version of a pack file, oldest first, each validated whole.

    The file's top level is the first version. Each ``[[versions]]`` entry is a later
    one: its ``version``, its ``effective_from`` date, optionally ``open_tickets``, and
    only the values that change; everything else is the version before it. Versions
    take effect in the order written, on strictly later dates.
    """
    source, data = read_pack_file(ref)
    versions = pack_versions_of(source, data)
    if not isinstance(ref, Path) and ref in BUILTIN_PACKS and versions[0].id != ref:
        raise PackError([(source, "id", f"built-in pack file declares id {versions[0].id!r}")])
    return versions


_VERSION_KEYS = frozenset({"version", "effective_from", "open_tickets"})
_SAME_FOR_ALL_VERSIONS = frozenset({"id", "name", "timezone"})


def pack_versions_of(source: str, data: dict[str, Any]) -> tuple[PolicyPack, ...]:
    """Validate a pack file's data (see ``load_pack_versions``); PackError lists every
    problem of every version."""
    data = dict(data)
    later = data.pop("versions", [])
    problems: list[tuple[str, str, str]] = []
    if not isinstance(later, list) or not all(isinstance(v, dict) for v in later):
        raise PackError([(source, "versions", "expected a list of tables ([[versions]])")])
    if "open_tickets" in data:
        problems.append((source, "open_tickets", "the first version has no open tickets before it"))
    drafts: list[tuple[str, dict[str, Any]]] = [("", data)]
    merged = data
    for n, change in enumerate(later):
        where = f"versions.{n}"
        for key in sorted(_SAME_FOR_ALL_VERSIONS & set(change)):
            problems.append((source, f"{where}.{key}", "is the same for every version of a pack"))
        for key in ("version", "effective_from"):
            if key not in change:
                problems.append((source, f"{where}.{key}", "field required"))
        merged = _merge(
            {k: v for k, v in merged.items() if k not in _VERSION_KEYS},
            {k: v for k, v in change.items() if k not in _SAME_FOR_ALL_VERSIONS},
        )
        drafts.append((where, merged))
    packs: list[PolicyPack] = []
    for where, draft in drafts:
        try:
            packs.append(PolicyPack.model_validate(draft))
        except ValidationError as error:
            prefix = f"{where}." if where else ""
            problems.extend(
                (source, prefix + _field(item["loc"]), _problem(item)) for item in error.errors()
            )
    if problems:
        raise PackError(problems)
    for where, pack in zip((w for w, _ in drafts), packs, strict=True):
        if "+" in pack.version:
            field = f"{where}.version" if where else "version"
            problems.append((source, field, "a version label cannot contain '+'"))
    seen: set[str] = set()
    for n, (before, after) in enumerate(itertools.pairwise(packs)):
        where = f"versions.{n}"
        if after.version in seen | {before.version}:
            problems.append((source, f"{where}.version", f"version {after.version!r} repeated"))
        seen.add(before.version)
        if (
            before.effective_from is not None
            and after.effective_from is not None
            and after.effective_from <= before.effective_from
        ):
            problems.append(
                (
                    source,
                    f"{where}.effective_from",
                    f"{after.effective_from} must be after {before.effective_from}, the date"
                    f" of version {before.version!r}",
                )
            )
    if problems:
        raise PackError(problems)
    return tuple(packs)


def _merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``change`` laid over it: tables merge key by key, anything else is
    replaced whole (a list of holidays is given whole)."""
    out = dict(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _problem(item: Any) -> str:
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] in {"missing", "extra_forbidden"}:
        return message.lower() if item["type"] == "missing" else "unknown field (not allowed)"
    if item["type"] == "value_error" or not _short(item.get("input")):
        return message
    return f"{message} (got {item['input']!r})"


def _short(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | date) and len(repr(value)) <= 40


def load_packs(refs: Iterable[str | Path]) -> dict[str, PolicyPack]:
    """Load several packs' first versions, all or none (see ``load_book`` for every
    version): one PackError lists the problems of every bad file."""
    return {pack_id: versions[0] for pack_id, versions in load_book(refs).packs.items()}


class UnknownPack(LookupError):
    """A pack id or version this deployment was not given."""


@dataclass(frozen=True)
class PackBook:
    """Every version of every pack a deployment runs with.

    A ticket is decided by the version in force on the day it was opened (in the pack's
    time zone) for its whole life: that version's label travels on its events. A later
    version's ``open_tickets`` sections apply to it too from that version's effective
    date; the version then named on decisions is ``<opening>+<later>``, which this book
    resolves again to the same numbers, years later, on replay.
    """

    packs: Mapping[str, tuple[PolicyPack, ...]]

    def ids(self) -> tuple[str, ...]:
        return tuple(self.packs)

    def versions(self, pack_id: str) -> tuple[PolicyPack, ...]:
        try:
            return self.packs[pack_id]
        except KeyError:
            known = ", ".join(self.packs) or "none"
            raise UnknownPack(f"no policy pack {pack_id!r} here; loaded: {known}") from None

    def version(self, pack_id: str, version: str) -> PolicyPack:
        """The pack's version named on an event: a file version or a composed label."""
        cached = self._composed.get((pack_id, version))
        if cached is not None:
            return cached
        versions = self.versions(pack_id)
        by_label = {v.version: v for v in versions}
        base_label, *later_labels = version.split("+")
        if base_label not in by_label or not all(label in by_label for label in later_labels):
            known = ", ".join(by_label)
            raise UnknownPack(f"pack {pack_id!r} has no version {version!r}; versions: {known}")
        pack = by_label[base_label]
        for label in later_labels:
            pack = _with_open_ticket_sections(pack, by_label[label])
        self._composed[(pack_id, version)] = pack
        return pack

    def in_force(self, pack_id: str, on: date) -> PolicyPack:
        """The version that decides a ticket opened on ``on`` (a date in the pack's zone)."""
        versions = self.versions(pack_id)
        current = versions[0]
        for candidate in versions[1:]:
            if candidate.effective_from is not None and candidate.effective_from <= on:
                current = candidate
        return current

    def opened_at(self, pack_id: str, at: datetime) -> PolicyPack:
        """The version for a ticket opened at the instant ``at``."""
        first = self.versions(pack_id)[0]
        return self.in_force(pack_id, at.astimezone(first.zone).date())

    def for_ticket(self, pack_id: str, version: str, at: datetime) -> PolicyPack:
        """What decides, at ``at``, for a ticket whose events name ``version``: that
        version, with the open-ticket sections of every later version in force by then."""
        pack = self.version(pack_id, version)
        base_label = version.split("+")[0]
        applied = set(version.split("+")[1:])
        versions = self.versions(pack_id)
        labels = [v.version for v in versions]
        today = at.astimezone(pack.zone).date()
        label = version
        for later in versions[labels.index(base_label) + 1 :]:
            if later.version in applied or not later.open_tickets:
                continue
            if later.effective_from is not None and later.effective_from <= today:
                label = f"{label}+{later.version}"
        return pack if label == version else self.version(pack_id, label)

    @property
    def _composed(self) -> dict[tuple[str, str], PolicyPack]:
        cache = self.__dict__.get("_cache")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_cache", cache)
        return cache


def _with_open_ticket_sections(pack: PolicyPack, later: PolicyPack) -> PolicyPack:
    """``pack`` with ``later``'s open-ticket sections, labelled ``<pack>+<later>``."""
    data = pack.model_dump()
    newer = later.model_dump()
    for section in later.open_tickets:
        head, _, tail = section.partition(".")
        if tail:
            data[head] = {**data[head], tail: newer[head][tail]}
        else:
            data[head] = newer[head]
    data["version"] = f"{pack.version}+{later.version}"
    return PolicyPack.model_validate(data)


def load_book(refs: Iterable[str | Path]) -> PackBook:
    """Every version of several packs, all or none: one PackError lists every problem."""
    packs: dict[str, tuple[PolicyPack, ...]] = {}
    problems: list[tuple[str, str, str]] = []
    for ref in refs:
        try:
            versions = load_pack_versions(ref)
        except PackError as error:
            problems.extend(error.problems)
            continue
        pack_id = versions[0].id
        if pack_id in packs:
            problems.append((str(ref), "id", f"pack id {pack_id!r} loaded twice"))
        packs[pack_id] = versions
    if problems:
        raise PackError(problems)
    return PackBook(packs)
