"""Billing's decisions, one module per aggregate; pure, over the policy pack.

- `account`: the ticket's billing account (stream `<ticket id>`): quotes (FEE-4), the
  invoice after completion (FEE-1, WAR-1), and the service forms and records filed on it.
- `penalty`: a penalty each (`penalty:<id>`): PEN-1..7, FEE-5's fine and refund, appeals.
- `settlement`: the outlet's monthly statement (`settlement:<outlet>:<period>`, FEE-6).
- `trip`: a travel allowance (`trip:<id>`, FEE-7).
- `assessment`: an engineer's month (`assessment:<engineer>:<period>`, PEN-8).
- `outlet`: the outlet roster (`outlets`, FEE-6) and maintenance contracts
  (`contract:<id>`, FEE-8).
- `pricing`: what a repair costs (FEE-1..3, FEE-8, WAR-1, WAR-2, WAR-10, WAR-11), shared
  by quotes and invoices.

Times are passed in; nothing here reads a clock.
"""

from repairline_billing.domain.account import (
    Account,
    Quote,
    decide_acceptance,
    decide_charge,
    decide_quote,
    decide_refusal,
    evolve,
    fold,
)
from repairline_billing.domain.assessment import (
    ASSESSMENT_KINDS,
    AssessmentFact,
    assessment_stream,
    decide_assessment,
)
from repairline_billing.domain.penalty import (
    REQUIRED_FORMS,
    UNREACHABLE_WINDOW_DAYS,
    PenaltyState,
    VerifiedComplaint,
    check_deadline,
    decide_appeal,
    decide_complaint_penalty,
    decide_forms_check,
    decide_implementation_form_check,
    decide_missed_appointment,
    decide_overcharge,
    decide_record_check,
    decide_ruling,
    decide_unreachable,
    fold_penalty,
    missed_penalty_id,
    penalty_stream,
)
from repairline_billing.domain.pricing import (
    IntakeWarranty,
    Pricing,
    PriorRepair,
    QuoteRequest,
    Reward,
    TicketFacts,
    price,
    yuan,
)
from repairline_billing.domain.settlement import decide_statement, period_bounds, void_credits
from repairline_billing.domain.trip import decide_trip
from repairline_contracts.billing import Evidence
from repairline_rules.refusals import IllegalTransition

# Published by the lifecycle contexts; billing reads them by type string and wire fields.
WARRANTY_DECIDED = "repairline.intake.WarrantyDecided"
MISSED_APPOINTMENT = "repairline.dispatch.MissedAppointment"
CALLBACK_COMPLETED = "repairline.feedback.CallbackCompleted"

__all__ = [
    "ASSESSMENT_KINDS",
    "CALLBACK_COMPLETED",
    "MISSED_APPOINTMENT",
    "REQUIRED_FORMS",
    "UNREACHABLE_WINDOW_DAYS",
    "WARRANTY_DECIDED",
    "Account",
    "AssessmentFact",
    "Evidence",
    "IllegalTransition",
    "IntakeWarranty",
    "PenaltyState",
    "Pricing",
    "PriorRepair",
    "Quote",
    "QuoteRequest",
    "Reward",
    "TicketFacts",
    "VerifiedComplaint",
    "assessment_stream",
    "check_deadline",
    "decide_acceptance",
    "decide_appeal",
    "decide_assessment",
    "decide_charge",
    "decide_complaint_penalty",
    "decide_forms_check",
    "decide_implementation_form_check",
    "decide_missed_appointment",
    "decide_overcharge",
    "decide_quote",
    "decide_record_check",
    "decide_refusal",
    "decide_ruling",
    "decide_statement",
    "decide_trip",
    "decide_unreachable",
    "evolve",
    "fold",
    "fold_penalty",
    "missed_penalty_id",
    "penalty_stream",
    "period_bounds",
    "price",
    "void_credits",
    "yuan",
]
