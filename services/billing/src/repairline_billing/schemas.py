"""Billing's HTTP request models; each turns itself into the one command it asks for."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
from repairline_platform.bounds import (
    MAX_KM,
    MAX_METRES,
    MAX_QUANTITY,
    CalendarDate,
    Fen,
    Identifier,
    Moment,
    Period,
    Region,
    text,
)
from repairline_platform.bounds import PERIOD as PERIOD
from repairline_platform.http import TicketVersion

Reason = text(1000, multi_line=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartIn(_In):
    code: text(64) = Field(description="Part code from the pack's price list.")
    quantity: int = Field(default=1, gt=0, le=MAX_QUANTITY)


class QuoteIn(_In):
    engineer_id: Identifier | None = None
    parts: list[PartIn] = Field(default_factory=list, max_length=100)
    distance_km: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=MAX_KM,
        max_digits=8,
        decimal_places=2,
        allow_inf_nan=False,
        description="FEE-2, from the city.",
    )
    agreed_travel_fee_fen: Fen | None = Field(default=None, description="FEE-2.")
    extra_wiring_m: int = Field(
        default=0, ge=0, le=MAX_METRES, description="FEE-3, metres of supply line."
    )
    ticket_version: TicketVersion = None
    after_inspection: Identifier | None = Field(
        default=None,
        description="WAR-4: the event id of the inspection the quote follows (dispatch's"
        " `InspectionRecorded`, as `GET /tickets/{id}/received` on dispatch names it):"
        " billing answers 409 `not_caught_up` until it has intake's warranty decision on it.",
    )

    def command(self, ticket_id: str) -> IssueQuote:
        request = QuoteRequest(
            parts=tuple((p.code, p.quantity) for p in self.parts),
            distance_km=self.distance_km,
            agreed_travel_fee_fen=self.agreed_travel_fee_fen,
            extra_wiring_m=self.extra_wiring_m,
            engineer_id=self.engineer_id,
        )
        return IssueQuote(
            ticket_id,
            f"Q-{uuid.uuid4().hex[:12]}",
            request,
            self.ticket_version,
            self.after_inspection,
        )


class RefusalIn(_In):
    reason: text(500, multi_line=True)

    def command(self, ticket_id: str, quote_id: str) -> RefuseQuote:
        return RefuseQuote(ticket_id, quote_id, self.reason)


class FormIn(_In):
    form: Literal["implementation", "acceptance", "implementation_plan", "service_feedback"]
    engineer_id: Identifier | None = None

    def command(self, ticket_id: str) -> HandInForm:
        return HandInForm(ticket_id, self.form, self.engineer_id)


class RecordIn(_In):
    activity: Literal["visit", "trip", "remote"]
    engineer_id: Identifier | None = None

    def command(self, ticket_id: str) -> FileServiceRecord:
        return FileServiceRecord(ticket_id, self.activity, self.engineer_id)


class RemoteIn(_In):
    engineer_id: Identifier

    def command(self, ticket_id: str) -> ReportRemoteService:
        return ReportRemoteService(ticket_id, self.engineer_id)


class UnreachableIn(_In):
    ticket_id: Identifier = Field(description="The job the engineer was sought for.")
    note: text(1000, min_length=0, multi_line=True) = ""
    fine_fen: Fen | None = Field(
        default=None, description="PEN-6: the manager's fine (20-50 yuan); none: warning."
    )
    ticket_version: TicketVersion = None

    def command(self, engineer_id: str) -> RecordUnreachable:
        return RecordUnreachable(
            engineer_id, self.ticket_id, self.note, self.fine_fen, self.ticket_version
        )


class AppealIn(_In):
    reason: Reason

    def command(self, penalty_id: str) -> AppealPenalty:
        return AppealPenalty(penalty_id, self.reason)


class RulingIn(_In):
    void: bool = Field(description="True voids the penalty, False upholds it.")
    manager_id: Identifier | None = Field(
        default=None,
        deprecated=True,
        description="Ignored: the manager ruling is the caller named by the bearer token.",
    )
    reason: Reason

    def command(self, penalty_id: str, manager_id: str) -> RulePenalty:
        """The ruling of `manager_id`, the verified caller (never the body's word)."""
        return RulePenalty(penalty_id, self.void, manager_id, self.reason)


class OutletIn(_In):
    name: text(200)
    region: Region
    engineer_ids: list[Identifier] = Field(
        default_factory=list, max_length=1000, description="Engineers of the outlet."
    )

    def command(self, outlet_id: str) -> ChangeOutlet:
        return ChangeOutlet(outlet_id, self.name, self.region, tuple(self.engineer_ids))


class SettlementIn(_In):
    period: Period

    def command(self, outlet_id: str) -> IssueStatement:
        return IssueStatement(outlet_id, self.period)


class AssessmentIn(_In):
    period: Period

    def command(self, engineer_id: str) -> AssessEngineer:
        return AssessEngineer(engineer_id, self.period)


class TripIn(_In):
    ticket_id: Identifier
    departed_at: Moment
    returned_at: Moment
    hotel_fen_per_night: list[Fen] = Field(default_factory=list, max_length=366)

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
    serial_no: text(64)
    starts_on: CalendarDate

    def command(self, contract_id: str) -> RegisterContract:
        return RegisterContract(contract_id, self.serial_no, self.starts_on)


def accept(ticket_id: str, quote_id: str) -> AcceptQuote:
    """FEE-4: the acceptance has no body; the path names the quote."""
    return AcceptQuote(ticket_id, quote_id)
