"""Events published by feedback on `repairline.feedback.events`."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from repairline_contracts.base import Decision, Event
from repairline_contracts.topics import FEEDBACK_EVENTS


class CallbackScheduled(Event):
    """A follow-up call was put on the schedule (FBK-1, FBK-2)."""

    event_type: ClassVar[str] = "repairline.feedback.CallbackScheduled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    callback_id: str
    due_at: datetime
    reason: str = Field(description="What the callback follows up, e.g. `after_service`.")
    decision: Decision


class CallbackDue(Event):
    """A scheduled callback has come due and goes on the agents' list."""

    event_type: ClassVar[str] = "repairline.feedback.CallbackDue"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    callback_id: str
    due_at: datetime
    fired_at: datetime
    attempt: int = Field(default=1, ge=1, description="1 for the first call, then retries.")


class CallbackAnswers(BaseModel):
    """FBK-4: what the customer is asked; None where the question was not answered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on_time: bool | None = None
    uniform_and_badge: bool | None = None
    installation_neat: bool | None = None
    product_quality_ok: bool | None = None
    attitude_and_skill_ok: bool | None = None
    charged_by_tariff: bool | None = None
    usage_explained: bool | None = None
    record_filled_and_signed: bool | None = None
    satisfied_overall: bool | None = None


Grade = Literal["satisfied", "average", "dissatisfied"]


class CallbackAttempted(Event):
    """FBK-3: a callback where the customer was not reached; it is retried."""

    event_type: ClassVar[str] = "repairline.feedback.CallbackAttempted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    callback_id: str
    attempt: int = Field(ge=1)
    reached: bool = False
    retry_at: datetime | None
    attempts_exhausted: bool
    reason: str
    decision: Decision
    attempted_at: datetime


class CallbackCompleted(Event):
    """A valid callback (FBK-3): the customer was reached, asked (FBK-4) and graded (FBK-5)."""

    event_type: ClassVar[str] = "repairline.feedback.CallbackCompleted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    callback_id: str
    attempt: int = Field(ge=1)
    answers: CallbackAnswers
    grade: Grade
    reason: str | None = Field(description="FBK-5: why, written down when dissatisfied.")
    engineer_id: str | None
    outlet_id: str | None
    decision: Decision
    completed_at: datetime


class RevisitRequested(Event):
    """FBK-5: a dissatisfied customer; someone goes on site at once (dispatch reacts)."""

    event_type: ClassVar[str] = "repairline.feedback.RevisitRequested"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    case_id: str
    reason: str
    requested_at: datetime
    engineer_id: str | None = Field(default=None, description="Responsible engineer, told.")
    outlet_id: str | None = Field(default=None, description="Responsible outlet, told.")
    decision: Decision | None = None


ComplaintKind = Literal["attitude", "overcharge", "quality", "lateness"]
ComplaintChannel = Literal[
    "hotline", "app", "web", "email", "front_desk", "dealer", "letter", "callback", "on_site"
]


class ComplaintFiled(Event):
    """FBK-6: a complaint, classified, with the date it must be answered by."""

    event_type: ClassVar[str] = "repairline.feedback.ComplaintFiled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    complaint_id: str
    channel: ComplaintChannel
    kind: ComplaintKind
    description: str
    engineer_id: str | None
    outlet_id: str | None
    amount_paid_fen: int | None = Field(
        default=None, ge=0, description="Overcharge: what the customer says was paid."
    )
    answer_by: datetime
    triggers: tuple[str, ...] = Field(description="Rules a verification sets off (FEE-5, PEN-1).")
    decision: Decision
    filed_at: datetime


class ComplaintAnswered(Event):
    """The customer got an answer (FBK-6: apologise, listen, restate, resolve)."""

    event_type: ClassVar[str] = "repairline.feedback.ComplaintAnswered"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    complaint_id: str
    answer: str
    within_deadline: bool
    answered_at: datetime


class ComplaintEscalated(Event):
    """FBK-6: not answered by its deadline; escalated as breached."""

    event_type: ClassVar[str] = "repairline.feedback.ComplaintEscalated"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    complaint_id: str
    answer_by: datetime
    reason: str
    decision: Decision
    escalated_at: datetime


class ComplaintVerified(Event):
    """The complaint was found true; billing fines (PEN-1) or refunds and fines (FEE-5)."""

    event_type: ClassVar[str] = "repairline.feedback.ComplaintVerified"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    complaint_id: str
    kind: ComplaintKind
    engineer_id: str | None
    outlet_id: str | None
    amount_paid_fen: int | None = Field(default=None, ge=0)
    finding: str
    triggers: tuple[str, ...]
    verified_at: datetime


class ComplaintDismissed(Event):
    """The complaint was looked into and not found true."""

    event_type: ClassVar[str] = "repairline.feedback.ComplaintDismissed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    complaint_id: str
    finding: str
    dismissed_at: datetime


class SurveyAnswered(Event):
    """FBK-7: a sampled customer answered the yearly satisfaction survey."""

    event_type: ClassVar[str] = "repairline.feedback.SurveyAnswered"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    survey_year: int
    grade: Grade
    answer: str
    constructive: bool
    answered_at: datetime


class SurveySampleDrawn(Event):
    """FBK-7: the year's survey sample, fixed when drawn; only these customers may answer.

    Keyed by `survey:<year>`, not by a ticket.
    """

    event_type: ClassVar[str] = "repairline.feedback.SurveySampleDrawn"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    survey_year: int
    percent: int = Field(ge=1, le=100)
    population: int = Field(ge=0, description="Customers served that year when drawn.")
    sample: tuple[str, ...] = Field(description="Ticket ids of the sampled customers.")
    reason: str
    decision: Decision
    drawn_at: datetime


class ExtensionRewardGranted(Event):
    """WAR-11: a constructive survey answer earned one free repair or 12 more months."""

    event_type: ClassVar[str] = "repairline.feedback.ExtensionRewardGranted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    serial_no: str | None
    reward: Literal["free_repair", "warranty_extension"]
    extended_ends_on: date | None
    reason: str
    decision: Decision
    granted_at: datetime


class KeyCustomerNoted(Event):
    """FBK-2: an organisation or customer name is a key customer, always on the morning list.

    Keyed by `key-customer:<name>`, not by a ticket.
    """

    event_type: ClassVar[str] = "repairline.feedback.KeyCustomerNoted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = FEEDBACK_EVENTS

    name: str = Field(min_length=1)
    note: str = ""


# Every event this context publishes, for the registry.
EVENTS: tuple[type[Event], ...] = (
    CallbackScheduled,
    CallbackDue,
    CallbackAttempted,
    CallbackCompleted,
    RevisitRequested,
    ComplaintFiled,
    ComplaintAnswered,
    ComplaintEscalated,
    ComplaintVerified,
    ComplaintDismissed,
    SurveyAnswered,
    SurveySampleDrawn,
    ExtensionRewardGranted,
    KeyCustomerNoted,
)
