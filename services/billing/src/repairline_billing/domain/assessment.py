"""PEN-8 engineer assessments (stream `assessment:<engineer>:<period>`). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from repairline_contracts.base import Decision, Event
from repairline_contracts.billing import (
    AssessmentCounts,
    EngineerAssessed,
    Evidence,
)
from repairline_rules import assessment
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import IllegalTransition

# -- assessment (PEN-8) -------------------------------------------------------------------

ASSESSMENT_KINDS = tuple(assessment.AssessmentFacts.model_fields)


@dataclass(frozen=True)
class AssessmentFact:
    """One fact counted in an engineer's assessment: its kind and the event proving it."""

    kind: str  # one of ASSESSMENT_KINDS
    evidence: Evidence


def assessment_stream(engineer_id: str, period: str) -> str:
    return f"assessment:{engineer_id}:{period}"


def decide_assessment(
    pack: PolicyPack,
    *,
    engineer_id: str,
    period: str,
    facts: Sequence[AssessmentFact],
    assessed: bool,
    now: datetime,
) -> EngineerAssessed:
    """PEN-8: the engineer's month, scored once from the facts billing holds; each
    proving event counts once per kind."""
    if assessed:
        raise IllegalTransition(f"{engineer_id} is already assessed for {period}", "assessed")
    unique = {(f.kind, f.evidence.event_id): f for f in facts if f.kind in ASSESSMENT_KINDS}
    ordered = sorted(unique.values(), key=lambda f: (f.kind, f.evidence.event_id))
    counts = {kind: sum(1 for f in ordered if f.kind == kind) for kind in ASSESSMENT_KINDS}
    decided = assessment.assess_engineer(pack, facts=assessment.AssessmentFacts(**counts))
    return EngineerAssessed(
        ticket_id=f"engineer:{engineer_id}",
        engineer_id=engineer_id,
        period=period,
        attitude=decided.attitude,
        quality=decided.quality,
        efficiency=decided.efficiency,
        satisfaction=decided.satisfaction,
        total=decided.total,
        band=decided.band,
        counts=AssessmentCounts(**counts),
        evidence=tuple(f.evidence for f in ordered),
        reason=decided.reason,
        decision=Decision.of(decided),
        assessed_at=now,
    )


@dataclass(frozen=True)
class AssessEngineer:
    """PEN-8: score the engineer's month, once."""

    engineer_id: str
    period: str  # YYYY-MM


def fold(stream_id: str, events: Iterable[Event]) -> bool:
    """Whether the month of the stream is assessed."""
    return any(isinstance(e, EngineerAssessed) for e in events)


def decide(
    assessed: bool,
    command: AssessEngineer,
    *,
    pack: PolicyPack,
    facts: Sequence[AssessmentFact],
    now: datetime,
) -> list[Event]:
    """PEN-8 from the facts billing holds about the month; a second time is refused."""
    return [
        decide_assessment(
            pack,
            engineer_id=command.engineer_id,
            period=command.period,
            facts=facts,
            assessed=assessed,
            now=now,
        )
    ]
