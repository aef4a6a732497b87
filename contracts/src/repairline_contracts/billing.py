"""Events published by billing on `repairline.billing.events`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

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


class ChargeInputs(BaseModel):
    """Everything the charge was decided from, so the log alone explains it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_line: str
    city_tier: str
    service_mode: str
    unit_in_warranty: bool
    purchase_date: str | None
    completed_at: datetime


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


# Every event this context publishes, for the registry.
EVENTS: tuple[type[Event], ...] = (ChargeAssessed,)
