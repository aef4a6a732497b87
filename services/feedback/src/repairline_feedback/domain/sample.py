"""The year's survey sample (FBK-7), in the stream `survey:<year>`: drawn once, fixed.

Who may answer the year's survey is decided when the sample is drawn, so it is
reproducible from the log and never redrawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import reduce

from repairline_contracts.base import Decision, Event
from repairline_contracts.feedback import SurveySampleDrawn
from repairline_rules import surveys
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import IllegalTransition


@dataclass(frozen=True)
class DrawSample:
    """FBK-7: draw and fix the year's sample of the customers served that year."""

    year: int
    percent: int = 10


@dataclass(frozen=True)
class SurveySample:
    year: int
    drawn: SurveySampleDrawn | None = None


def survey_stream(year: int) -> str:
    """The stream (and key) of a year's survey sample."""
    return f"survey:{year}"


def year_of(stream_id: str) -> int:
    return int(stream_id.removeprefix("survey:"))


def year_bounds(year: int, zone: tzinfo) -> tuple[datetime, datetime]:
    """The start of the year and of the next, in the pack's time zone."""
    return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)


def evolve(state: SurveySample, event: Event) -> SurveySample:
    if isinstance(event, SurveySampleDrawn) and state.drawn is None:
        return SurveySample(state.year, event)
    return state


def fold(stream_id: str, events: Iterable[Event]) -> SurveySample:
    return reduce(evolve, events, SurveySample(year_of(stream_id)))


def decide_sample(
    pack: PolicyPack,
    *,
    year: int,
    ticket_ids: Iterable[str],
    percent: int,
    drawn: SurveySampleDrawn | None,
    now: datetime,
) -> SurveySampleDrawn:
    """FBK-7: draw the year's survey sample once; a drawn sample is never redrawn, so
    who may answer is fixed and reproducible from the log."""
    if drawn is not None:
        raise IllegalTransition(
            f"the {year} survey sample was drawn at {drawn.drawn_at.isoformat()}", "drawn"
        )
    decided = surveys.survey_sample(pack, year=year, ticket_ids=list(ticket_ids), percent=percent)
    return SurveySampleDrawn(
        ticket_id=survey_stream(year),
        survey_year=year,
        percent=percent,
        population=decided.population,
        sample=decided.sample,
        reason=decided.reason,
        decision=Decision.of(decided),
        drawn_at=now,
    )


def decide_draw(
    pack: PolicyPack, state: SurveySample, cmd: DrawSample, *, served: Iterable[str], now: datetime
) -> list[Event]:
    """FBK-7: the sample of the customers `served` in the year, unless already drawn."""
    return [
        decide_sample(
            pack,
            year=cmd.year,
            ticket_ids=served,
            percent=cmd.percent,
            drawn=state.drawn,
            now=now,
        )
    ]


def check_sampled(drawn: SurveySampleDrawn | None, *, ticket_id: str, year: int) -> None:
    """FBK-7: only a customer in the year's drawn sample may answer its survey."""
    if drawn is None:
        raise IllegalTransition(
            f"no survey sample has been drawn for {year} (FBK-7)", "sample_not_drawn"
        )
    if ticket_id not in drawn.sample:
        raise IllegalTransition(
            f"ticket {ticket_id} is not in the {year} survey sample (FBK-7)", "not_in_sample"
        )
