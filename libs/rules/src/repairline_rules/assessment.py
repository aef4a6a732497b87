"""The engineer's periodic assessment (PEN-8): attitude, quality, efficiency and
customer satisfaction, scored from the facts that prove them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt

from repairline_rules.decision import Decision, Value, stamp
from repairline_rules.packs import PolicyPack
from repairline_rules.registry import rule

Band = Literal["excellent", "good", "needs_improvement"]


class AssessmentFacts(Value):
    """What was proven against (or for) the engineer in the period, counted."""

    attitude_complaints: NonNegativeInt = 0
    quality_complaints: NonNegativeInt = 0
    repeat_failures: NonNegativeInt = Field(default=0, description="WAR-10 recurrences.")
    missed_appointments: NonNegativeInt = 0
    lateness_complaints: NonNegativeInt = 0
    sla_breaches: NonNegativeInt = 0
    satisfied: NonNegativeInt = 0
    average: NonNegativeInt = 0
    dissatisfied: NonNegativeInt = 0


class AssessmentDecision(Decision):
    """PEN-8: the four component scores (0-100), their weighted total and its band."""

    attitude: int = Field(ge=0, le=100)
    quality: int = Field(ge=0, le=100)
    efficiency: int = Field(ge=0, le=100)
    satisfaction: int = Field(ge=0, le=100)
    total: int = Field(ge=0, le=100)
    band: Band
    facts: AssessmentFacts
    reason: str


def _less(points: int) -> int:
    return max(0, 100 - points)


@rule("PEN-8")
def assess_engineer(pack: PolicyPack, *, facts: AssessmentFacts) -> AssessmentDecision:
    """PEN-8: engineers are assessed on attitude, quality, efficiency and customer
    satisfaction; the result feeds pay and promotion.

    Attitude loses the pack's points per verified attitude complaint (PEN-1); quality
    per verified quality complaint and per repeat failure (WAR-10); efficiency per
    missed appointment (PEN-7), lateness complaint and SLA breach; satisfaction is the
    mean of the callback grades' points (FBK-5), or the pack's value with no callback.
    The total is the weighted mean, rounded half up; the band is the pack's threshold
    it reaches.
    """
    spec = pack.assessment
    attitude = _less(facts.attitude_complaints * spec.attitude_complaint_points)
    quality = _less(
        facts.quality_complaints * spec.quality_complaint_points
        + facts.repeat_failures * spec.repeat_failure_points
    )
    efficiency = _less(
        facts.missed_appointments * spec.missed_appointment_points
        + facts.lateness_complaints * spec.lateness_complaint_points
        + facts.sla_breaches * spec.sla_breach_points
    )
    graded = facts.satisfied + facts.average + facts.dissatisfied
    if graded:
        points = (
            facts.satisfied * spec.satisfied_points
            + facts.average * spec.average_points
            + facts.dissatisfied * spec.dissatisfied_points
        )
        satisfaction = (2 * points + graded) // (2 * graded)
    else:
        satisfaction = spec.no_callback_points
    weights = (
        (spec.weight_attitude, attitude),
        (spec.weight_quality, quality),
        (spec.weight_efficiency, efficiency),
        (spec.weight_satisfaction, satisfaction),
    )
    weight = sum(w for w, _ in weights)
    weighted = sum(w * score for w, score in weights)
    total = (2 * weighted + weight) // (2 * weight)
    band: Band
    if total >= spec.excellent_from:
        band = "excellent"
    elif total >= spec.good_from:
        band = "good"
    else:
        band = "needs_improvement"
    return AssessmentDecision(
        **stamp(pack, ["PEN-8"]),
        attitude=attitude,
        quality=quality,
        efficiency=efficiency,
        satisfaction=satisfaction,
        total=total,
        band=band,
        facts=facts,
        reason=(
            f"attitude {attitude}, quality {quality}, efficiency {efficiency}, "
            f"satisfaction {satisfaction} ({graded} callbacks): {total}, {band}"
        ),
    )


__all__ = ["AssessmentDecision", "AssessmentFacts", "assess_engineer"]
