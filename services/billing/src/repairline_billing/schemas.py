"""Billing's HTTP request models; each turns itself into the one command it asks for."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from repairline_billing.domain.account import (
    AcceptQuote,
    FileServiceRecord,
    HandInForm,
    IssueQuote,
    RefuseQuote,
    ReportRemoteService,
)
from repairline_billing.domain.assessment import AssessEngineer
from repairline_billing.domain.outlet import ChangeOutlet, RegisterContract
from repairline_billing.domain.penalty import AppealPenalty, RecordUnreachable, RulePenalty
from repairline_billing.domain.pricing import QuoteRequest
from repairline_billing.domain.settlement import IssueStatement
from repairline_billing.domain.trip import GrantTrip
from repairline_platform.http import TicketVersion

PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartIn(_In):
    code: str = Field(min_length=1, description="Part code from the pack's price list.")
    quantity: int = Field(default=1, gt=0)


class QuoteIn(_In):
    engineer_id: str | None = None
    parts: list[PartIn] = Field(default_factory=list)
    distance_km: Decimal = Field(default=Decimal(0), ge=0, description="FEE-2, from the city.")
    agreed_travel_fee_fen: int | None = Field(default=None, ge=0, description="FEE-2.")
    extra_wiring_m: int = Field(default=0, ge=0, description="FEE-3, metres of supply line.")
    ticket_version: TicketVersion = None

    def command(self, ticket_id: str) -> IssueQuote:
        request = QuoteRequest(
            parts=tuple((p.code, p.quantity) for p in self.parts),
            distance_km=self.distance_km,
            agreed_travel_fee_fen=self.agreed_travel_fee_fen,
            extra_wiring_m=self.extra_wiring_m,
            engineer_id=self.engineer_id,
        )
        return IssueQuote(ticket_id, f"Q-{uuid.uuid4().hex[:12]}", request, self.ticket_version)


class RefusalIn(_In):
    reason: str = Field(min_length=1, max_length=500)

    def command(self, ticket_id: str, quote_id: str) -> RefuseQuote:
        return RefuseQuote(ticket_id, quote_id, self.reason)


class FormIn(_In):
    form: Literal["implementation", "acceptance", "implementation_plan", "service_feedback"]
    engineer_id: str | None = None

    def command(self, ticket_id: str) -> HandInForm:
        return HandInForm(ticket_id, self.form, self.engineer_id)


class RecordIn(_In):
    activity: Literal["visit", "trip", "remote"]
    engineer_id: str | None = None

    def command(self, ticket_id: str) -> FileServiceRecord:
        return FileServiceRecord(ticket_id, self.activity, self.engineer_id)


class RemoteIn(_In):
    engineer_id: str = Field(min_length=1)

    def command(self, ticket_id: str) -> ReportRemoteService:
        return ReportRemoteService(ticket_id, self.engineer_id)


class UnreachableIn(_In):
    ticket_id: str = Field(min_length=1, description="The job the engineer was sought for.")
    note: str = Field(default="", max_length=1000)
    fine_fen: int | None = Field(
        default=None, ge=0, description="PEN-6: the manager's fine (20-50 yuan); none: warning."
    )
    ticket_version: TicketVersion = None

    def command(self, engineer_id: str) -> RecordUnreachable:
        return RecordUnreachable(
            engineer_id, self.ticket_id, self.note, self.fine_fen, self.ticket_version
        )


class AppealIn(_In):
    reason: str = Field(min_length=1, max_length=1000)

    def command(self, penalty_id: str) -> AppealPenalty:
        return AppealPenalty(penalty_id, self.reason)


class RulingIn(_In):
    void: bool = Field(description="True voids the penalty, False upholds it.")
    manager_id: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=1000)

    def command(self, penalty_id: str) -> RulePenalty:
        return RulePenalty(penalty_id, self.void, self.manager_id, self.reason)


class OutletIn(_In):
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(min_length=1, max_length=50)
    engineer_ids: list[str] = Field(default_factory=list, description="Engineers of the outlet.")

    def command(self, outlet_id: str) -> ChangeOutlet:
        return ChangeOutlet(outlet_id, self.name, self.region, tuple(self.engineer_ids))


class SettlementIn(_In):
    period: str = Field(pattern=PERIOD, description="`YYYY-MM`.")

    def command(self, outlet_id: str) -> IssueStatement:
        return IssueStatement(outlet_id, self.period)


class AssessmentIn(_In):
    period: str = Field(pattern=PERIOD, description="`YYYY-MM`.")

    def command(self, engineer_id: str) -> AssessEngineer:
        return AssessEngineer(engineer_id, self.period)


class TripIn(_In):
    ticket_id: str = Field(min_length=1)
    departed_at: AwareDatetime
    returned_at: AwareDatetime
    hotel_fen_per_night: list[int] = Field(default_factory=list)

    def command(self, engineer_id: str) -> GrantTrip:
        return GrantTrip(
            trip_id=f"TRIP-{uuid.uuid4().hex[:12]}",
            engineer_id=engineer_id,
            ticket_id=self.ticket_id,
            departed_at=self.departed_at,
            returned_at=self.returned_at,
            hotel_fen_per_night=tuple(self.hotel_fen_per_night),
        )


class ContractIn(_In):
    serial_no: str = Field(min_length=1)
    starts_on: date

    def command(self, contract_id: str) -> RegisterContract:
        return RegisterContract(contract_id, self.serial_no, self.starts_on)


def accept(ticket_id: str, quote_id: str) -> AcceptQuote:
    """FEE-4: the acceptance has no body; the path names the quote."""
    return AcceptQuote(ticket_id, quote_id)
