"""Events published by billing on `repairline.billing.events`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from repairline_contracts.base import Decision, Event
from repairline_contracts.topics import BILLING_EVENTS


class ChargeLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    description: str
    amount_fen: int = Field(ge=0, description="Amount in fen (1/100 yuan).")
    rule_id: str
    reason: str


class QuotedPart(BaseModel):
    """A part in a quote or invoice; `under_warranty` came from the warranty decision (WAR-1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="Part code from the pack's price list, e.g. `thermostat`.")
    quantity: int = Field(gt=0)
    under_warranty: bool


class ChargeInputs(BaseModel):
    """Everything the charge was decided from, so the log alone explains it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_line: str
    city_tier: str
    service_mode: str
    unit_in_warranty: bool
    purchase_date: str | None = Field(
        description="The date the warranty ran from (WAR-5): intake's published `start_date`"
        " (invoice, card, other proof, serial lookup), else the purchase date the customer"
        " stated (INT-3) when intake decided nothing."
    )
    warranty_source: str | None = Field(
        default=None,
        description="What dated it: invoice, warranty_card, other_proof, serial_lookup or"
        " stated (WAR-3, INT-3). Absent on charges assessed before this field existed.",
    )
    completed_at: datetime
    parts: tuple[QuotedPart, ...] = Field(default=(), description="Parts fitted, if quoted.")
    free_reason: str | None = Field(
        default=None,
        description="Why the whole repair is free beyond warranty (WAR-10 recurrence, WAR-11).",
    )


class ChargeAssessed(Event):
    """Billing assessed what the customer owes for a completed repair (FEE-1, WAR-1)."""

    event_type: ClassVar[str] = "repairline.billing.ChargeAssessed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    total_fen: int = Field(ge=0, description="Sum of the lines, in fen.")
    currency: str = "CNY"
    lines: tuple[ChargeLine, ...]
    inputs: ChargeInputs
    decision: Decision
    assessed_at: datetime
    invoice_no: str | None = Field(
        default=None, description="The invoice this charge was issued as (FEE-4: unasked)."
    )
    quote_id: str | None = Field(default=None, description="The accepted quote it bills, if any.")
    matches_quote: bool | None = Field(
        default=None, description="True when the lines equal the accepted quote's (FEE-4)."
    )
    quote_note: str | None = Field(
        default=None, description="Why the invoice differs from the quote, or why there is none."
    )
    engineer_id: str | None = Field(default=None, description="Engineer who did the work.")
    outlet_id: str | None = Field(
        default=None, description="Outlet (service point) credited with the work (FEE-6)."
    )


class QuoteInputs(BaseModel):
    """What a quote was computed from (FEE-1..3, FEE-8, WAR-1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_line: str
    city_tier: str
    service_mode: str
    unit_in_warranty: bool
    free_visit: bool
    warranty_source: Literal["intake", "billing"] = Field(
        description="`intake`: intake's WarrantyDecided; `billing`: billing's own assessment."
    )
    warranty_reason: str
    parts: tuple[QuotedPart, ...]
    distance_km: str = Field(description="Distance from the city, decimal text (FEE-2).")
    agreed_travel_fee_fen: int | None
    extra_wiring_m: int = Field(ge=0, description="Dedicated supply line laid, metres (FEE-3).")
    covered_by_contract: bool = Field(description="FEE-8: a maintenance contract covers it.")


class QuoteIssued(Event):
    """The engineer's quote, stated before work (FEE-4), line by line."""

    event_type: ClassVar[str] = "repairline.billing.QuoteIssued"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    quote_id: str
    engineer_id: str | None
    lines: tuple[ChargeLine, ...]
    total_fen: int = Field(ge=0, description="Sum of the lines, in fen.")
    currency: str = "CNY"
    needs_customer_agreement: bool = Field(
        description="FEE-2: travel beyond the free distance is quoted at the cap until agreed."
    )
    inputs: QuoteInputs
    decision: Decision
    issued_at: datetime


class QuoteAccepted(Event):
    """The customer accepted the quote: work may start (FEE-4)."""

    event_type: ClassVar[str] = "repairline.billing.QuoteAccepted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    quote_id: str
    total_fen: int = Field(ge=0, description="The accepted total, in fen.")
    accepted_at: datetime


class QuoteRefused(Event):
    """The customer refused the quote: no work and no charge (FEE-4)."""

    event_type: ClassVar[str] = "repairline.billing.QuoteRefused"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    quote_id: str
    refused_at: datetime
    reason: str


class Evidence(BaseModel):
    """An event that proves a fine, or the absence it proves (a form that never came)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(description="CloudEvents id of the proving event.")
    event_type: str
    ticket_id: str
    note: str = Field(default="", description="What the event proves.")


Sanction = Literal["none", "warning", "fine", "demotion_or_dismissal", "dismissal"]


class PenaltyAssessed(Event):
    """A fine or sanction entered in the penalty ledger (PEN-1..7, FEE-5).

    Keyed by the ticket that proved it. A penalty is never deleted: an appeal ends in
    `PenaltyVoided` or `PenaltyUpheld`.
    """

    event_type: ClassVar[str] = "repairline.billing.PenaltyAssessed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    penalty_id: str = Field(description="Deterministic: rule, then what proved it.")
    subject: Literal["engineer", "outlet"]
    engineer_id: str | None
    outlet_id: str | None
    fine_fen: int = Field(ge=0)
    sanction: Sanction
    payee: str = Field(description="Fund the fine goes to.")
    reason: str
    kind: str | None = Field(default=None, description="Complaint kind, for PEN-1 escalations.")
    offence_at: datetime = Field(description="When the offence was proven.")
    evidence: tuple[Evidence, ...] = Field(min_length=1)
    decision: Decision
    assessed_at: datetime


class PenaltyAppealed(Event):
    """The penalised party appealed; a manager decides."""

    event_type: ClassVar[str] = "repairline.billing.PenaltyAppealed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    penalty_id: str
    reason: str
    appealed_at: datetime


class PenaltyVoided(Event):
    """A manager voided the penalty on appeal; it stays in the ledger, at no effect."""

    event_type: ClassVar[str] = "repairline.billing.PenaltyVoided"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    penalty_id: str
    manager_id: str
    reason: str
    voided_at: datetime


class PenaltyUpheld(Event):
    """A manager upheld the penalty on appeal."""

    event_type: ClassVar[str] = "repairline.billing.PenaltyUpheld"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    penalty_id: str
    manager_id: str
    reason: str
    upheld_at: datetime


class OverchargeRefunded(Event):
    """FEE-5: a verified overcharge; the excess over the tariff goes back to the customer."""

    event_type: ClassVar[str] = "repairline.billing.OverchargeRefunded"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    complaint_id: str
    outlet_id: str | None
    charged_fen: int = Field(ge=0, description="What the customer paid.")
    tariff_fen: int = Field(ge=0, description="What the tariff allows (the invoice total).")
    refund_fen: int = Field(ge=0, description="The excess, refunded.")
    evidence: tuple[Evidence, ...] = Field(min_length=1)
    decision: Decision
    refunded_at: datetime


class ServiceFormHandedIn(Event):
    """A service form reached the office (PEN-2, PEN-5)."""

    event_type: ClassVar[str] = "repairline.billing.ServiceFormHandedIn"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    engineer_id: str | None
    form: Literal["implementation", "acceptance", "implementation_plan", "service_feedback"]
    handed_in_at: datetime


class ServiceRecordFiled(Event):
    """The engineer wrote a visit, trip or remote service into the service record (PEN-3/4)."""

    event_type: ClassVar[str] = "repairline.billing.ServiceRecordFiled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    engineer_id: str | None
    activity: Literal["visit", "trip", "remote"]
    filed_at: datetime


class RemoteServiceReported(Event):
    """The service desk logged a remote service by an engineer; it must be recorded (PEN-4)."""

    event_type: ClassVar[str] = "repairline.billing.RemoteServiceReported"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    engineer_id: str
    reported_at: datetime


class StaffUnreachableRecorded(Event):
    """The coordinator could not reach an engineer about this ticket (PEN-6)."""

    event_type: ClassVar[str] = "repairline.billing.StaffUnreachableRecorded"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    engineer_id: str
    note: str
    recorded_at: datetime


class SettlementLine(BaseModel):
    """One line of an outlet's statement: a fee earned (+), a refund or a fine (-), or a
    credit (+) returning a fine deducted on an earlier statement and voided since."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["fee", "refund", "fine", "credit"]
    ref_id: str = Field(
        description="Invoice event id, refund's complaint id or penalty id (fine, credit)."
    )
    ticket_id: str
    amount_fen: int = Field(
        description="Signed: fees and credits positive, refunds and fines negative."
    )
    rule_id: str
    description: str
    earlier_statement_id: str | None = Field(
        default=None, description="Credit: the statement that deducted the voided fine."
    )


class SettlementLinesRecorded(Event):
    """FEE-6: one page of a statement's lines, appended just before the statement itself.

    A month of an outlet's invoices, refunds and fines has no upper bound, so its lines
    travel in pages of at most `repairline_contracts.base.MAX_PAGE_BYTES` each. Keyed by
    `outlet:<outlet id>`, like the statement.
    """

    event_type: ClassVar[str] = "repairline.billing.SettlementLinesRecorded"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    statement_id: str = Field(description="`<outlet id>:<period>`.")
    outlet_id: str
    period: str = Field(description="Calendar month in the pack's time zone, `YYYY-MM`.")
    page: int = Field(ge=1, description="1 to `page_count`, in the order of the lines.")
    page_count: int = Field(ge=1)
    lines: tuple[SettlementLine, ...]


class SettlementStatementIssued(Event):
    """FEE-6: an outlet's statement for a period, with its voucher and pay-by date.

    Keyed by `outlet:<outlet id>`, not by a ticket. Since version 2 its lines are in the
    `page_count` SettlementLinesRecorded events appended just before it (`lines` is empty);
    a version 1 statement carried them inline (upcast with `page_count` 0).
    """

    event_type: ClassVar[str] = "repairline.billing.SettlementStatementIssued"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[str] = BILLING_EVENTS

    statement_id: str = Field(description="`<outlet id>:<period>`.")
    outlet_id: str
    period: str = Field(description="Calendar month in the pack's time zone, `YYYY-MM`.")
    fees_fen: int
    refunds_fen: int
    fines_fen: int
    net_fen: int = Field(
        description="fees - refunds - fines + credits; negative means the outlet owes."
    )
    lines: tuple[SettlementLine, ...] = Field(
        default=(), description="Inline lines (version 1 only); see `page_count`."
    )
    voucher_received_on: date
    pay_by: date | None
    decision: Decision
    issued_at: datetime
    credits_fen: int = Field(
        default=0,
        ge=0,
        description="Fines deducted on earlier statements and voided since, returned (FEE-6).",
    )
    line_count: int = Field(default=0, ge=0, description="How many lines the statement has.")
    page_count: int = Field(
        default=0,
        ge=0,
        description="SettlementLinesRecorded pages holding the lines; 0: `lines` inline.",
    )


def statement_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A version 1 statement kept its lines inline: say so (`page_count` 0)."""
    return {**data, "line_count": len(data.get("lines", ())), "page_count": 0}


class TravelAllowanceGranted(Event):
    """FEE-7: an engineer's travel allowance for one trip. Keyed by the trip's ticket."""

    event_type: ClassVar[str] = "repairline.billing.TravelAllowanceGranted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    trip_id: str
    engineer_id: str
    departed_at: datetime
    returned_at: datetime
    trip_days: str = Field(description="Decimal text, halves allowed.")
    meals_fen: int = Field(ge=0)
    hotel_fen: int = Field(ge=0)
    total_fen: int = Field(ge=0)
    reason: str
    decision: Decision
    granted_at: datetime


class AssessmentCounts(BaseModel):
    """PEN-8: the facts an assessment was scored from, counted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attitude_complaints: int = Field(ge=0, description="Verified attitude complaints (PEN-1).")
    quality_complaints: int = Field(ge=0, description="Verified quality complaints (PEN-1).")
    repeat_failures: int = Field(ge=0, description="Repairs that failed again (WAR-10).")
    missed_appointments: int = Field(ge=0, description="Missed appointments (PEN-7).")
    lateness_complaints: int = Field(ge=0, description="Verified lateness complaints (PEN-1).")
    sla_breaches: int = Field(ge=0)
    satisfied: int = Field(ge=0, description="Callbacks graded satisfied (FBK-5).")
    average: int = Field(ge=0)
    dissatisfied: int = Field(ge=0)


class EngineerAssessed(Event):
    """PEN-8: an engineer's assessment for a month, feeding pay and promotion.

    Keyed by `engineer:<engineer id>`. Scores are 0-100; `evidence` lists every event
    counted.
    """

    event_type: ClassVar[str] = "repairline.billing.EngineerAssessed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    engineer_id: str
    period: str = Field(description="Calendar month in the pack's time zone, `YYYY-MM`.")
    attitude: int = Field(ge=0, le=100)
    quality: int = Field(ge=0, le=100)
    efficiency: int = Field(ge=0, le=100)
    satisfaction: int = Field(ge=0, le=100)
    total: int = Field(ge=0, le=100, description="Weighted by the pack's weights.")
    band: Literal["excellent", "good", "needs_improvement"]
    counts: AssessmentCounts
    evidence: tuple[Evidence, ...] = Field(description="The events counted, each once.")
    reason: str
    decision: Decision
    assessed_at: datetime


class OutletRosterChanged(Event):
    """The network office set an outlet's name, region and engineers: FEE-6 settles an
    engineer's work to this outlet until an assignment names a service point. All
    roster changes share the key `outlets`, so they are read in the order they were made."""

    event_type: ClassVar[str] = "repairline.billing.OutletRosterChanged"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    outlet_id: str
    name: str
    region: str
    engineer_ids: tuple[str, ...] = ()
    changed_at: datetime


class MaintenanceContractRegistered(Event):
    """FEE-8: a maintenance contract for a unit (by serial number) from its start day;
    registered again, its serial number or start day is corrected."""

    event_type: ClassVar[str] = "repairline.billing.MaintenanceContractRegistered"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = BILLING_EVENTS

    contract_id: str
    serial_no: str
    starts_on: date
    registered_at: datetime


# Every event this context publishes, for the registry.
EVENTS: tuple[type[Event], ...] = (
    ChargeAssessed,
    QuoteIssued,
    QuoteAccepted,
    QuoteRefused,
    PenaltyAssessed,
    PenaltyAppealed,
    PenaltyVoided,
    PenaltyUpheld,
    OverchargeRefunded,
    ServiceFormHandedIn,
    ServiceRecordFiled,
    RemoteServiceReported,
    StaffUnreachableRecorded,
    SettlementLinesRecorded,
    SettlementStatementIssued,
    TravelAllowanceGranted,
    EngineerAssessed,
    OutletRosterChanged,
    MaintenanceContractRegistered,
)
