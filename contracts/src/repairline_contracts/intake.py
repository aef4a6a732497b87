"""Events published by intake on `repairline.intake.events`."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from repairline_contracts.base import Event
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
    model: str | None = Field(default=None, description="Product model.")
    serial_no: str | None = Field(default=None, description="Serial number (主机号 / 机身号).")
    purchase_date: date | None = Field(default=None, description="Invoice date (WAR-5).")


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


# Every event this context publishes, for the registry.
EVENTS: tuple[type[Event], ...] = (RepairRequested,)
