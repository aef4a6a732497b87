"""Feedback's HTTP request models, with their examples; each turns into one command."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from repairline_contracts.feedback import CallbackAnswers, ComplaintChannel, ComplaintKind, Grade
from repairline_feedback.domain.complaint import AnswerComplaint, FileComplaint, VerifyComplaint
from repairline_feedback.domain.followup import AnswerSurvey, RecordCallback
from repairline_feedback.domain.key_customer import NoteKeyCustomer
from repairline_feedback.domain.sample import DrawSample
from repairline_platform.bounds import BegunYear, Fen, Identifier, text
from repairline_platform.http import TicketVersion

Text = text(4000, multi_line=True)


def _config(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class AttemptIn(BaseModel):
    """FBK-3..5: one call of a due callback."""

    model_config = _config(
        {"reached": False},
        {"reached": True, "grade": "dissatisfied", "reason": "still no hot water"},
    )

    reached: bool = Field(description="FBK-3: only a reached customer makes a valid callback.")
    answers: CallbackAnswers = Field(default_factory=CallbackAnswers, description="FBK-4.")
    grade: Grade | None = Field(
        default=None, validate_default=True, description="FBK-5, when reached."
    )
    reason: text(2000, min_length=0, multi_line=True) | None = Field(
        default=None, validate_default=True, description="FBK-5: why; required when dissatisfied."
    )

    @field_validator("grade")
    @classmethod
    def _graded_when_reached(cls, grade: Grade | None, info: ValidationInfo) -> Grade | None:
        if info.data.get("reached") and grade is None:
            raise ValueError("a reached customer's callback needs a grade (FBK-5)")
        return grade

    @field_validator("reason")
    @classmethod
    def _reason_when_dissatisfied(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("grade") == "dissatisfied" and not (reason or "").strip():
            raise ValueError("a dissatisfied callback needs its reason (FBK-5)")
        return reason

    def command(self, callback_id: str) -> RecordCallback:
        return RecordCallback(callback_id, self.reached, self.answers, self.grade, self.reason)


class ComplaintIn(BaseModel):
    """FBK-6: a complaint about a ticket, from any channel."""

    model_config = _config(
        {
            "ticket_id": "T-1",
            "channel": "hotline",
            "kind": "overcharge",
            "description": "charged 80 yuan",
            "amount_paid_fen": 8000,
        }
    )

    ticket_id: Identifier
    channel: ComplaintChannel
    kind: ComplaintKind
    description: Text
    engineer_id: Identifier | None = Field(
        default=None, description="Default: the ticket's engineer."
    )
    amount_paid_fen: Fen | None = Field(default=None, description="Overcharge: paid.")
    ticket_version: TicketVersion = None

    def command(self) -> FileComplaint:
        return FileComplaint(
            self.ticket_id,
            self.channel,
            self.kind,
            self.description,
            self.engineer_id,
            self.amount_paid_fen,
            self.ticket_version,
        )


class AnswerIn(BaseModel):
    model_config = _config({"answer": "sorry; refund on its way"})

    answer: Text

    def command(self, complaint_id: str) -> AnswerComplaint:
        return AnswerComplaint(complaint_id, self.answer)


class VerificationIn(BaseModel):
    model_config = _config({"verified": True, "finding": "recorded call confirms it"})

    verified: bool
    finding: Text

    def command(self, complaint_id: str) -> VerifyComplaint:
        return VerifyComplaint(complaint_id, self.verified, self.finding)


class SurveyIn(BaseModel):
    model_config = _config(
        {"year": 2026, "grade": "average", "answer": "a timer would help", "constructive": True}
    )

    year: BegunYear
    grade: Grade
    answer: Text
    constructive: bool = Field(description="WAR-11: judged constructive by the service manager.")
    reward: Literal["free_repair", "warranty_extension"] = "free_repair"

    def command(self, ticket_id: str) -> AnswerSurvey:
        return AnswerSurvey(
            ticket_id, self.year, self.grade, self.answer, self.constructive, self.reward
        )


class SampleIn(BaseModel):
    model_config = _config({"year": 2026, "percent": 10})

    year: BegunYear
    percent: int = Field(default=10, ge=1, le=100, description="FBK-7: share of customers.")

    def command(self) -> DrawSample:
        return DrawSample(self.year, self.percent)


class KeyCustomerIn(BaseModel):
    model_config = _config({"note": "framework agreement"})

    note: text(1000, min_length=0, multi_line=True) = ""

    def command(self, name: str) -> NoteKeyCustomer:
        return NoteKeyCustomer(name, self.note)
