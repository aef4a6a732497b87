"""Events published by intake on `repairline.intake.events`."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from repairline_contracts.base import Decision, Event
from repairline_contracts.topics import INTAKE_EVENTS


class Channel(StrEnum):
    """INT-2: where a repair request came from."""

    HOTLINE = "hotline"
    DEPOT = "depot"
    DEALER = "dealer"
    APP = "app"
    WEB = "web"
    EMAIL = "email"
    FRONT_DESK = "front_desk"


class ServiceMode(StrEnum):
    ON_SITE = "on_site"
    DEPOT = "depot"


class CityTier(StrEnum):
    """FEE-1 columns."""

    MUNICIPALITY = "municipality"
    PROVINCIAL_CAPITAL = "provincial_capital"
    PREFECTURE_CITY = "prefecture_city"
    COUNTY_CITY = "county_city"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, description="Customer's name.")
    phone: str | None = Field(default=None, description="Landline; personal data, never logged.")
    mobile: str | None = Field(default=None, description="Mobile; personal data, never logged.")
    address: str | None = Field(default=None, description="Service address; never logged.")
    organisation: str | None = Field(default=None, description="Business customers (INT-3).")
    role: str | None = Field(default=None, description="Caller's role at the organisation.")
    business_critical: bool | None = Field(
        default=None, description="Whether the machine is business-critical (INT-3)."
    )


class Product(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    line: str = Field(description="Product line, e.g. `instant_water_heater`; also the skill.")
    brand: str | None = Field(
        default=None,
        description="The product's brand (maker), as the customer or dealer names it. With the"
        " product line, the region and the key account it decides which policy pack the"
        " ticket is decided by (the deployment's pack mapping); absent on requests recorded"
        " before brands were taken.",
    )
    model: str | None = Field(default=None, description="Product model.")
    serial_no: str | None = Field(default=None, description="Serial number (主机号 / 机身号).")
    purchase_date: date | None = Field(
        default=None,
        description="The purchase date the customer states (INT-3), not proof: the warranty"
        " runs from the invoice, warranty card or other proof (WAR-5, WAR-3), else the serial"
        " number's sales record (WAR-3), and only with none of them from this date. The date"
        " a ticket's warranty runs from is the `start_date` of its WarrantyDecided; consumers"
        " read that, and this date only while intake has decided nothing.",
    )


class GeoPoint(BaseModel):
    """A place, for travel times between jobs (straight-line distance)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees.")


class TimeWindow(BaseModel):
    """An appointment window such as 14:00-15:00 (DSP-2); timezone-aware."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: datetime
    end: datetime


class DealerFacts(BaseModel):
    """INT-4: the dealer who brought the request on the customer's behalf."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dealer_id: str | None = None
    name: str = Field(description="Dealer's name.")


class Triage(BaseModel):
    """INT-5: how the request is handled first, and which rule decided it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fault_kind: str = Field(description="misreport, misuse, software, hardware or unknown.")
    route: str = Field(description="`phone_guidance`, `visit` or `depot_repair`.")
    visit_chargeable: bool = Field(description="A visit for this fault would not be free.")
    customer_insists_on_visit: bool = False
    reason: str
    decision: Decision


class RepairRequested(Event):
    """A customer reported a fault (叫修) and intake recorded it (INT-1, INT-2, INT-3)."""

    event_type: ClassVar[str] = "repairline.intake.RepairRequested"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    service_request_no: str = Field(description="Service request number told to the customer.")
    repair_order_no: str = Field(description="Repair order number (维修单号).")
    channel: Channel
    region: str = Field(description="Region that owns the ticket.")
    city_tier: CityTier = Field(description="City tier of the service address (FEE-1).")
    service_mode: ServiceMode = Field(description="On-site visit or depot repair.")
    customer: Customer
    product: Product
    fault_description: str
    customer_wants: str | None = None
    urgency: Urgency = Urgency.NORMAL
    needs_verification: bool = Field(description="INT-3: facts missing or contradictory.")
    verification_issues: tuple[str, ...] = Field(
        default=(), description="INT-3: which facts are missing or contradictory."
    )
    requested_at: datetime = Field(description="When intake recorded the request.")
    triage: Triage | None = Field(default=None, description="INT-5: the triage decision.")
    held_for: tuple[str, ...] = Field(
        default=(),
        description="What must happen before an engineer is sent: `phone_guidance` (INT-5),"
        " `remedy_choice` (WAR-6..9). A request that needs verification is held too (INT-3).",
    )
    location: GeoPoint | None = Field(default=None, description="Service address position.")
    preferred_window: TimeWindow | None = Field(
        default=None, description="DSP-2: the window the customer asked for."
    )
    key_account_id: str | None = Field(
        default=None,
        description="DSP-13: the key account; also the contract the deployment's pack"
        " mapping routes the ticket by (`contracts` of a route).",
    )
    job_kind: str = Field(default="repair", description="`repair` or `installation` (DSP-12).")
    dealer: DealerFacts | None = Field(default=None, description="INT-4: the dealer, if any.")
    warranty_decision_follows: bool | None = Field(
        default=None,
        description="True when intake decided the warranty with the request: a"
        " WarrantyDecided is recorded in the same commit, right after it, and whoever"
        " charges the repair waits for it (FEE-1, INT-5, WAR-4). Absent on requests"
        " recorded before this field existed.",
    )
    customer_id: str | None = Field(
        default=None,
        description="The customer's app or web account that filed the request, if it was"
        " filed there; that account sees the tickets it filed.",
    )


class RepairRequestRefused(Event):
    """A request intake refused, with the reason told to the caller (INT-4)."""

    event_type: ClassVar[str] = "repairline.intake.RepairRequestRefused"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    channel: Channel
    region: str
    dealer: DealerFacts | None = None
    reason: str
    decision: Decision
    refused_at: datetime


class PartCoverage(BaseModel):
    """WAR-1: one part's warranty."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    months: int
    ends_on: date | None
    covered: bool


class ProofShown(BaseModel):
    """WAR-3/WAR-4: the proof and condition a warranty decision was made on, kept so a
    later partial update (an inspection's voltage) adds to it instead of replacing it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_date: date | None = None
    warranty_card_date: date | None = None
    other_proof_date: date | None = None
    card_model: str | None = None
    card_serial_no: str | None = None
    documents_altered: bool = False
    authorised_installer: bool = True
    unauthorised_repair: bool = False
    misuse: bool = False
    natural_disaster: bool = False
    supply_voltage_v: str | None = Field(default=None, description="Volts, decimal text.")
    wiring_to_code: bool = True
    suspect_parts: tuple[str, ...] = ()
    days_in_repair: int = Field(default=0, description="WAR-5: stated with proof.")
    days_waiting_for_parts: int = Field(default=0, description="WAR-5: stated with proof.")


class WarrantyDecided(Event):
    """Whether the repair is free, decided at intake (WAR-1..5, INT-5 for paid visits)."""

    event_type: ClassVar[str] = "repairline.intake.WarrantyDecided"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    unit_in_warranty: bool
    free_visit: bool = Field(description="WAR-2: the visit itself is free.")
    chargeable: bool = Field(
        description="The customer will be charged: a quote must be accepted before work (FEE-4)."
    )
    reason: str
    decided_at: datetime
    decision: Decision
    product_line: str
    service_mode: ServiceMode
    start_date: date | None = Field(
        default=None,
        description="WAR-5: the date the warranty runs from, the one every consumer uses"
        " (billing's part coverage, feedback's warranty end, the three guarantees' date of"
        " sale). None: no date of purchase is known.",
    )
    start_source: str | None = Field(
        default=None,
        description="What dated it, first found first: invoice (WAR-5), warranty_card,"
        " other_proof, serial_lookup (WAR-3), else stated, the customer's"
        " `product.purchase_date` (INT-3).",
    )
    days_paused: int = Field(
        default=0,
        ge=0,
        description="WAR-5: days in repair and waiting for parts that moved the warranty end"
        " later. 0 on decisions recorded before this field existed.",
    )
    unit_ends_on: date | None = None
    free_on_site_ends_on: date | None = None
    parts: tuple[PartCoverage, ...] = ()
    exclusions: tuple[str, ...] = Field(default=(), description="WAR-4 exclusions found.")
    options: tuple[str, ...] = Field(
        default=(), description="WAR-2: e.g. paid_visit, free_depot_repair."
    )
    proof: ProofShown | None = Field(
        default=None, description="WAR-3/WAR-4: the proof and condition it was decided on."
    )


class RequestVerified(Event):
    """The missing or contradictory facts were completed (INT-3): the ticket proceeds."""

    event_type: ClassVar[str] = "repairline.intake.RequestVerified"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    customer: Customer
    product: Product
    customer_wants: str | None
    urgency: Urgency
    location: GeoPoint | None = None
    resolved_issues: tuple[str, ...]
    verified_with: tuple[str, ...] = Field(description="Dispatcher first, then the customer.")
    verified_at: datetime


class PhoneGuidanceGiven(Event):
    """The customer was guided on the phone instead of a visit (INT-5); FBK-1 calls back."""

    event_type: ClassVar[str] = "repairline.intake.PhoneGuidanceGiven"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    guided_at: datetime
    notes: str
    callback_due_at: datetime = Field(description="FBK-1: when to call back (2 hours later).")
    decision: Decision


class VisitRequested(Event):
    """After guidance the customer insists on, or still needs, a visit (INT-5)."""

    event_type: ClassVar[str] = "repairline.intake.VisitRequested"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    reason: str = Field(description="`customer_insists` or `guidance_failed`.")
    chargeable: bool = Field(description="INT-5: misreport, misuse and software visits are paid.")
    requested_at: datetime
    decision: Decision


class RemedyOption(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(description="`return`, `exchange` or `repair`.")
    free: bool = True
    depreciation: bool = False
    note: str = ""


class RemedyOffered(Event):
    """The three guarantees (三包) give the customer a choice (WAR-6..9)."""

    event_type: ClassVar[str] = "repairline.intake.RemedyOffered"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    remedies: tuple[RemedyOption, ...]
    reason: str
    offered_at: datetime
    decision: Decision


class RemedyChosen(Event):
    """The customer chose a remedy; a return or an exchange closes the ticket."""

    event_type: ClassVar[str] = "repairline.intake.RemedyChosen"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    remedy: RemedyOption
    chosen_at: datetime


class DepotIntakeRecorded(Event):
    """A machine handed in at a depot (INT-7): queue number, pre-inspection, voucher."""

    event_type: ClassVar[str] = "repairline.intake.DepotIntakeRecorded"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    queue_no: str
    voucher_no: str = Field(description="Pickup voucher (取机凭证) signed by the customer.")
    visible_damage: str
    non_standard_parts: str
    data_backup_reminded: bool
    voucher_signed: bool
    inspection_expected_at: datetime = Field(description="Estimated inspection (about 20 min).")
    promised_repair_by: datetime | None = Field(description="DSP-3: per product line.")
    decision: Decision
    recorded_at: datetime


class CustomerCalledForPickup(Event):
    """The repaired machine is ready and the customer was called (INT-8)."""

    event_type: ClassVar[str] = "repairline.intake.CustomerCalledForPickup"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    reached: bool
    called_at: datetime


class PickedUp(Event):
    """The customer checked the voucher, tested the machine and signed (INT-8); closes it."""

    event_type: ClassVar[str] = "repairline.intake.PickedUp"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    voucher_no: str
    tested_by_customer: bool
    acceptance_signed: bool
    fee_told_fen: int | None = Field(default=None, ge=0, description="A fee, told before.")
    picked_up_at: datetime
    decision: Decision


class TicketClosed(Event):
    """The ticket is closed without a (further) repair: returned or exchanged (WAR-6..9)."""

    event_type: ClassVar[str] = "repairline.intake.TicketClosed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    reason: str = Field(description="`returned`, `exchanged` or `picked_up`.")
    closed_at: datetime
    decision: Decision | None = None


class TicketCancelled(Event):
    """The customer or the centre cancelled the request."""

    event_type: ClassVar[str] = "repairline.intake.TicketCancelled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    reason: str
    cancelled_at: datetime


class DuplicateReported(Event):
    """The same serial number was reported again while this ticket is open."""

    event_type: ClassVar[str] = "repairline.intake.DuplicateReported"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    channel: Channel
    serial_no: str
    reported_at: datetime


class SaleRecorded(Event):
    """The maker's sales record of a unit (WAR-3): used to start the warranty when the
    customer has no proof of purchase; a later record of the same serial number replaces
    it. Stream and key: `sales-record:<serial_no>`."""

    event_type: ClassVar[str] = "repairline.intake.SaleRecorded"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    ticket_id: str = Field(
        description="Not a ticket: the sales record stream `sales-record:<serial_no>`, also"
        " the Kafka key."
    )
    serial_no: str
    product_line: str
    model: str | None = None
    sold_on: date = Field(description="The sale date the maker recorded (WAR-3, WAR-5).")
    recorded_at: datetime


# Every event this context publishes, for the registry.
EVENTS: tuple[type[Event], ...] = (
    RepairRequested,
    RepairRequestRefused,
    WarrantyDecided,
    RequestVerified,
    PhoneGuidanceGiven,
    VisitRequested,
    RemedyOffered,
    RemedyChosen,
    DepotIntakeRecorded,
    CustomerCalledForPickup,
    PickedUp,
    TicketClosed,
    TicketCancelled,
    DuplicateReported,
    SaleRecorded,
)
