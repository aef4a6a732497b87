"""The yearly satisfaction survey (FBK-7): which customers are sampled."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from repairline_rules.decision import Decision, stamp
from repairline_rules.packs import PolicyPack
from repairline_rules.registry import rule


class SurveySampleDecision(Decision):
    """FBK-7: the tickets whose customers get the yearly survey."""

    year: int
    population: int
    percent: int
    sample: tuple[str, ...]
    reason: str


@rule("FBK-7")
def survey_sample(
    pack: PolicyPack, *, year: int, ticket_ids: Sequence[str], percent: int
) -> SurveySampleDecision:
    """FBK-7: a yearly sampled satisfaction survey of the customers served that year.

    The sample is ``percent`` of the tickets, rounded up, chosen by a hash of the pack,
    the year and the ticket id: the same population always gives the same sample, and
    no customer can predict being chosen.
    """
    if not 1 <= percent <= 100:
        raise ValueError("percent must be between 1 and 100")
    population = sorted(set(ticket_ids))
    size = -(-len(population) * percent // 100)

    def rank(ticket_id: str) -> str:
        return hashlib.sha256(f"{pack.id}:{year}:{ticket_id}".encode()).hexdigest()

    chosen = tuple(sorted(sorted(population, key=rank)[:size]))
    return SurveySampleDecision(
        **stamp(pack, ["FBK-7"]),
        year=year,
        population=len(population),
        percent=percent,
        sample=chosen,
        reason=f"{percent} % of {len(population)} customers served in {year}, rounded up",
    )
