"""Intake's HTTP request and answer models, with their examples, and the commands they
become."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    DealerFacts,
    GeoPoint,
    Product,
    ServiceMode,
    TimeWindow,
    Urgency,
)
from repairline_intake.domain import sales_record, ticket
from repairline_intake.views import TicketFilter, TicketStatus
from repairline_platform import bounds
from repairline_platform.bounds import (
    MULTI_LINE,
    SINGLE_LINE,
    Fen,
    Identifier,
    Moment,
    PastDate,
    Region,
)

PhoneNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 \-]{5,19}$"),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=MULTI_LINE),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=SINGLE_LINE),
]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.\-/]+$"),
]
Brand = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=SINGLE_LINE),
]


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    phone: PhoneNumber | None = Field(default=None, examples=["021-5555 0101"])
    mobile: PhoneNumber | None = Field(default=None, examples=["+86 139 0000 0000"])
    address: Text | None = None
    organisation: Name | None = None
    role: Name | None = None
    business_critical: bool | None = None


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: Code = Field(
        description="Product line, e.g. instant_water_heater: one the ticket's policy pack"
        " has terms for (else 422 naming the pack and its lines)."
    )
    brand: Brand | None = Field(
        default=None,
        examples=["Aquaheat"],
        description="The product's brand (maker), 1-40 characters on one line, trimmed. With"
        " the product line, the region and `key_account_id` it decides the ticket's policy"
        " pack by the deployment's pack mapping (matched ignoring case).",
    )
    model: Code | None = None
    serial_no: Code | None = None
    purchase_date: PastDate | None = Field(
        default=None,
        description="The purchase date the customer states (INT-3), from 1990-01-01 to today;"
        " not proof. The warranty runs from `proof.invoice_date` (WAR-5), the warranty card"
        " or other proof, else the serial number's sales record (WAR-3), and from this date"
        " only when none of them is known. The date used is the warranty decision's"
        " `start_date` (`start_source` says which), and billing and feedback count from it.",
    )


class GeoPointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, examples=[30.2741])
    lon: float = Field(ge=-180, le=180, examples=[120.1551])

    def point(self) -> GeoPoint:
        return GeoPoint(lat=self.lat, lon=self.lon)


class WindowIn(bounds.WindowIn):  # the one window shape, with the domain's window
    def window(self) -> TimeWindow:
        return TimeWindow(start=self.start, end=self.end)


class DealerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dealer_id: Code | None = None
    name: Name = Field(examples=["Hangzhou Home Electric"])


class ProofIn(BaseModel):
    """What the customer can show (WAR-3) and how the unit was installed and used (WAR-4)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"invoice_date": "2026-03-01", "suspect_parts": ["tank"]}]},
    )

    invoice_date: PastDate | None = None
    warranty_card_date: PastDate | None = None
    other_proof_date: PastDate | None = None
    card_model: Code | None = None
    card_serial_no: Code | None = None
    documents_altered: bool = False
    authorised_installer: bool = True
    unauthorised_repair: bool = False
    misuse: bool = False
    natural_disaster: bool = False
    supply_voltage_v: Decimal | None = Field(
        default=None, ge=0, le=1000, max_digits=6, decimal_places=2, allow_inf_nan=False
    )
    wiring_to_code: bool = True
    suspect_parts: list[Code] = Field(default_factory=list, description="WAR-1 parts.")
    days_in_repair: int = Field(
        default=0, ge=0, le=3650, description="WAR-5: days in repair on earlier repairs."
    )
    days_waiting_for_parts: int = Field(
        default=0, ge=0, le=3650, description="WAR-5: days waiting for parts on earlier repairs."
    )

    def facts(self) -> ticket.ProofFacts:
        data = self.model_dump()
        return ticket.ProofFacts(**{**data, "suspect_parts": tuple(data["suspect_parts"])})

    def decision(self, ticket_id: str) -> ticket.DecideWarranty:
        """WAR-3/WAR-4 shown after intake: only the fields sent replace recorded ones."""
        return ticket.DecideWarranty(ticket_id, self.facts(), frozenset(self.model_fields_set))


class GuaranteeIn(BaseModel):
    """WAR-6..9: what the three guarantees need to know."""

    model_config = ConfigDict(extra="forbid")

    performance_fault: bool = False
    failed_repairs: int = Field(default=0, ge=0, le=100)
    same_model_available: bool = True
    submitted_for_repair_on: PastDate | None = None
    waiting_for_maker_parts: bool = False


class DepotIn(BaseModel):
    """INT-7: recorded at the depot counter."""

    model_config = ConfigDict(extra="forbid")

    visible_damage: Text = "none"
    non_standard_parts: Text = "none"
    data_backup_reminded: bool = Field(description="The customer was reminded to back up data.")
    voucher_signed: bool = Field(description="The customer signed the pickup voucher.")


class RepairRequestIn(BaseModel):
    """The facts of INT-3. Missing facts do not reject the request: it needs verification."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "hotline",
                    "region": "cn-east",
                    "city_tier": "provincial_capital",
                    "service_mode": "on_site",
                    "customer": {
                        "name": "Li Wei",
                        "mobile": "+86 139 0000 0000",
                        "address": "88 Example Road, Hangzhou",
                    },
                    "product": {
                        "line": "instant_water_heater",
                        "model": "WH-30",
                        "serial_no": "SN123456",
                        "purchase_date": "2025-03-01",
                    },
                    "fault_description": "No hot water; error E3 on the display",
                    "customer_wants": "repair",
                    "urgency": "normal",
                }
            ]
        },
    )

    channel: Channel
    region: Region
    city_tier: CityTier
    service_mode: ServiceMode = ServiceMode.ON_SITE
    customer: CustomerIn = Field(default_factory=CustomerIn)
    product: ProductIn
    fault_description: Text
    customer_wants: Text | None = None
    urgency: Urgency = Urgency.NORMAL
    fault_kind: Literal["misreport", "misuse", "software", "hardware", "unknown"] = Field(
        default="unknown", description="INT-5: the hotline's reading of the fault."
    )
    customer_insists_on_visit: bool = Field(
        default=False, description="INT-5: the customer refuses guidance and wants a visit."
    )
    location: GeoPointIn | None = Field(
        default=None, description="Position of the service address, for travel times."
    )
    preferred_window: WindowIn | None = Field(
        default=None, description="DSP-2: the visit window the customer asks for."
    )
    key_account_id: Code | None = Field(
        default=None,
        description="DSP-13: key account; also the contract the deployment's pack mapping"
        " routes the ticket by.",
    )
    job_kind: Literal["repair", "installation"] = "repair"
    dealer: DealerIn | None = Field(
        default=None, description="INT-2, INT-4: required on the dealer channel."
    )
    proof: ProofIn | None = Field(
        default=None,
        description="WAR-3/WAR-4: proof of purchase and condition. Without it the warranty"
        " is looked up from the serial number (sales records).",
    )
    guarantee: GuaranteeIn | None = Field(default=None, description="WAR-6..9 facts.")
    depot: DepotIn | None = Field(
        default=None, description="INT-7: required on the walk-in depot channel."
    )

    def command(self) -> ticket.RequestRepair:
        return ticket.RequestRepair(
            channel=self.channel,
            region=self.region,
            city_tier=self.city_tier,
            service_mode=self.service_mode,
            customer=Customer(**self.customer.model_dump()),
            product=Product(**self.product.model_dump()),
            fault_description=self.fault_description,
            customer_wants=self.customer_wants,
            urgency=self.urgency,
            fault_kind=self.fault_kind,
            customer_insists_on_visit=self.customer_insists_on_visit,
            location=self.location.point() if self.location else None,
            preferred_window=self.preferred_window.window() if self.preferred_window else None,
            key_account_id=self.key_account_id,
            job_kind=self.job_kind,
            dealer=DealerFacts(**self.dealer.model_dump()) if self.dealer else None,
            proof=self.proof.facts() if self.proof else None,
            guarantee=ticket.GuaranteeFacts(**(self.guarantee or GuaranteeIn()).model_dump()),
            depot=ticket.DepotFacts(**self.depot.model_dump()) if self.depot else None,
        )


class VerificationIn(BaseModel):
    """INT-3: the completed facts, checked with the dispatcher, then the customer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer": {
                        "name": "Li Wei",
                        "mobile": "+86 139 0000 0000",
                        "address": "88 Example Road, Hangzhou",
                    },
                    "product": {
                        "line": "instant_water_heater",
                        "model": "WH-30",
                        "serial_no": "SN123456",
                        "purchase_date": "2026-03-01",
                    },
                    "customer_wants": "repair",
                }
            ]
        },
    )

    customer: CustomerIn
    product: ProductIn
    customer_wants: Text | None = None
    urgency: Urgency = Urgency.NORMAL
    location: GeoPointIn | None = None

    def command(self, ticket_id: str) -> ticket.VerifyRequest:
        return ticket.VerifyRequest(
            ticket_id=ticket_id,
            customer=Customer(**self.customer.model_dump()),
            product=Product(**self.product.model_dump()),
            customer_wants=self.customer_wants,
            urgency=self.urgency,
            location=self.location.point() if self.location else None,
        )


class NotesIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"notes": "reset the unit; water temperature set"}]},
    )

    notes: Text


class VisitRequestIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "customer_insists"}]}
    )

    reason: Literal["customer_insists", "guidance_failed"] = "customer_insists"


class RemedyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"kind": "exchange"}]}
    )

    kind: Literal["return", "exchange", "repair"]


class ReasonIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "fixed it himself"}]}
    )

    reason: Text


class ReadyCallIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reached": True}]})

    reached: bool = True


class PickupIn(BaseModel):
    """INT-8: the voucher, the customer's test and signature, a fee told before."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "voucher_no": "V20261124000007",
                    "tested_by_customer": True,
                    "acceptance_signed": True,
                    "fee_told_fen": 0,
                }
            ]
        },
    )

    voucher_no: Code
    tested_by_customer: bool
    acceptance_signed: bool
    fee_told_fen: Fen | None = None


class SalesRecordIn(BaseModel):
    """WAR-3: the maker's sales record, for warranty by serial number."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"product_line": "notebook", "model": "X1", "sold_on": "2025-06-01"}]
        },
    )

    product_line: Code
    model: Code | None = None
    sold_on: PastDate

    def command(self, serial_no: str) -> sales_record.RecordSale:
        return sales_record.RecordSale(
            serial_no=serial_no,
            product_line=self.product_line,
            model=self.model,
            sold_on=self.sold_on,
        )


class CommandAnswer(BaseModel):
    """What every command answers: the events recorded and the conversation they belong to."""

    ticket_id: str
    events: list[str] = Field(description="Events recorded.")
    event_ids: list[str]
    correlation_id: str = Field(description="The X-Correlation-Id on the events.")
    version: int = Field(description="The ticket's stream version after the command.")


class TicketCreated(CommandAnswer):
    service_request_no: str
    repair_order_no: str
    needs_verification: bool
    verification_issues: list[str]
    event_id: str = Field(description="The RepairRequested event's id.")
    route: str | None = Field(default=None, description="INT-5: first handling.")
    held_for: list[str] = Field(default_factory=list)
    warranty: dict[str, Any] | None = None
    remedies: list[str] = Field(default_factory=list, description="WAR-6..9 choices.")
    queue_no: str | None = Field(default=None, description="INT-7: depot queue number.")
    voucher_no: str | None = Field(default=None, description="INT-7: pickup voucher.")
    promised_repair_by: datetime | None = None


class SaleRecordedAnswer(BaseModel):
    """The sales record as it now stands, and the event that recorded it (none when the
    same record was already there)."""

    serial_no: str
    product_line: str
    model: str | None
    sold_on: date
    stream_id: str = Field(description="`sales-record:<serial_no>`.")
    events: list[str]
    event_ids: list[str]
    correlation_id: str
    version: int


class TicketSummary(BaseModel):
    """One ticket of a list: its numbers, status, region, engineer and request time."""

    ticket_id: str
    service_request_no: str | None = Field(description="INT-2: the number the caller is told.")
    repair_order_no: str | None = Field(description="INT-2: the repair order's number.")
    status: str
    region: str | None
    product_line: str | None
    engineer_id: str | None
    requested_at: datetime
    updated_at: datetime


class TicketQuery(BaseModel):
    """`GET /tickets`: the number the customer was given (INT-2), his phone or the
    product's serial number, or a status, region, engineer and request time; a page."""

    number: Identifier | None = Field(
        None, description="A service request or repair order number the customer was told."
    )
    status: TicketStatus | None = None
    region: Region | None = None
    engineer_id: Identifier | None = None
    requested_from: Moment | None = Field(None, description="Requested at or after.")
    requested_to: Moment | None = Field(None, description="Requested before.")
    phone: str | None = Field(
        None,
        min_length=5,
        max_length=40,
        pattern=r"^\+?[0-9 ()\-]+$",
        description="The customer's phone or mobile, matched in its dialled form"
        " (`+86 139 0000 0000` finds `13900000000`). Personal data: never logged.",
    )
    serial: Identifier | None = Field(None, description="The product's serial number.")
    limit: int = Field(50, ge=1, le=500)
    after: str | None = Field(None, max_length=200, description="The previous page's `next`.")

    def filter(self) -> TicketFilter:
        return TicketFilter(
            number=self.number,
            status=self.status.value if self.status else None,
            region=self.region,
            engineer_id=self.engineer_id,
            requested_from=self.requested_from,
            requested_to=self.requested_to,
            phone=self.phone,
            serial_no=self.serial,
            limit=self.limit,
            after=self.after,
        )


class TicketPage(BaseModel):
    """A page of tickets, oldest request first; `next` asks for the following page."""

    tickets: list[TicketSummary]
    next: str | None = Field(description="Pass as `after` for the next page; null: the last.")


class SerialWarranty(BaseModel):
    """WAR-3: the warranty a request without proof of purchase would get today."""

    in_warranty: bool = Field(description="WAR-1: the unit is in warranty today.")
    free_visit: bool = Field(description="WAR-2: inside the free on-site period.")
    until: date | None = Field(description="WAR-5: the unit's warranty ends on this day.")
    free_on_site_until: date | None
    reason: str
    decided_on: date = Field(description="Today, in the pack's time zone.")
    rule_ids: list[str]
    pack_id: str = Field(description="The policy pack deciding it (the mapping's).")
    pack_version: str


class SalesRecordAnswer(BaseModel):
    """WAR-3: the maker's sales record of a serial number and what it means today."""

    serial_no: str
    product_line: str
    model: str | None
    sold_on: date
    warranty: SerialWarranty | None = Field(
        description="None when the pack does not know the product line."
    )
