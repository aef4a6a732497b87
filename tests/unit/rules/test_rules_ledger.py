"""The decisions added for billing and follow-up: FEE-4 invoice against quote, the PEN-7
ledger entry and the FBK-7 survey sample."""

from datetime import UTC, datetime, timedelta

import pytest

from repairline_rules import load_pack
from repairline_rules.fees import ChargeLine
from repairline_rules.ledger import invoice_against_quote, missed_appointment_entry
from repairline_rules.surveys import survey_sample

PACK = load_pack("water-heater")


def line(code: str, fen: int, rule_id: str = "FEE-1") -> ChargeLine:
    return ChargeLine(code=code, description=code, amount_fen=fen, rule_id=rule_id, reason="r")


def test_fee_4_an_invoice_equal_to_the_accepted_quote_matches():
    quoted = [line("visit", 3000), line("part:thermostat", 4500)]
    decided = invoice_against_quote(PACK, invoiced=list(reversed(quoted)), accepted=quoted)
    assert decided.matches_quote is True
    assert (decided.quoted_fen, decided.invoiced_fen) == (7500, 7500)
    assert decided.rule_ids == ("FEE-4",)


def test_fee_4_an_invoice_that_differs_from_the_quote_says_why():
    quoted = [line("visit", 3000)]
    more = invoice_against_quote(PACK, invoiced=[line("visit", 4000)], accepted=quoted)
    assert more.matches_quote is False and "only the quoted amount" in more.note
    free = invoice_against_quote(
        PACK, invoiced=[line("visit", 0, "WAR-10")], accepted=quoted, free_reason="WAR-10: x"
    )
    assert free.note == "free after the quote: WAR-10: x"


@pytest.mark.parametrize(
    ("invoiced", "refused", "matches", "note"),
    [
        ([line("visit", 0, "WAR-1")], False, True, "nothing chargeable: no quote needed"),
        ([line("visit", 3000)], False, False, "no accepted quote on file: charged by the tariff"),
        ([line("visit", 0, "FEE-4")], True, True, "quote refused: no work and no charge"),
    ],
)
def test_fee_4_without_an_accepted_quote(invoiced, refused, matches, note):
    decided = invoice_against_quote(PACK, invoiced=invoiced, accepted=None, refused=refused)
    assert (decided.matches_quote, decided.note, decided.quoted_fen) == (matches, note, None)


def test_pen_7_a_missed_appointment_is_a_warning_counted_against_the_engineer():
    now = datetime(2030, 6, 3, 8, 0, tzinfo=UTC)
    first = missed_appointment_entry(PACK, missed_at=now)
    assert (first.fine_fen, first.sanction) == (0, "warning")
    assert "1 in 6 months" in first.reason and first.rule_ids == ("PEN-7",)
    again = missed_appointment_entry(PACK, missed_at=now, earlier=[now - timedelta(days=30)])
    assert again.reason.startswith("repeat offence") and "2 in 6 months" in again.reason
    stale = missed_appointment_entry(PACK, missed_at=now, earlier=[now - timedelta(days=200)])
    assert not stale.reason.startswith("repeat")


def test_fbk_7_the_survey_sample_is_stable_rounded_up_and_pack_and_year_specific():
    tickets = [f"t{n}" for n in range(95)]
    sample = survey_sample(PACK, year=2030, ticket_ids=tickets, percent=10)
    assert len(sample.sample) == 10  # 9.5 rounded up
    assert (
        sample.sample == survey_sample(PACK, year=2030, ticket_ids=tickets[::-1], percent=10).sample
    )
    assert set(sample.sample) <= set(tickets)
    other_year = survey_sample(PACK, year=2031, ticket_ids=tickets, percent=10)
    assert other_year.sample != sample.sample
    assert survey_sample(PACK, year=2030, ticket_ids=[], percent=10).sample == ()
    with pytest.raises(ValueError):
        survey_sample(PACK, year=2030, ticket_ids=tickets, percent=0)


# -- PEN-8 ----------------------------------------------------------------------------------

from repairline_rules.assessment import AssessmentFacts, assess_engineer  # noqa: E402
from repairline_rules.packs import BUILTIN_PACKS, AssessmentSpec, load_pack  # noqa: E402


def test_pen_8_each_component_loses_the_packs_points_per_proven_fact():
    decided = assess_engineer(
        PACK,
        facts=AssessmentFacts(
            attitude_complaints=1,
            quality_complaints=1,
            repeat_failures=1,
            missed_appointments=1,
            lateness_complaints=2,
            sla_breaches=1,
            satisfied=1,
            average=1,
        ),
    )
    assert (decided.attitude, decided.quality, decided.efficiency) == (75, 50, 45)
    assert decided.satisfaction == 80  # (100 + 60) / 2
    assert (decided.total, decided.band) == (63, "needs_improvement")  # 62.5 rounds half up
    assert decided.rule_ids == ("PEN-8",)


@pytest.mark.parametrize(
    ("facts", "band"),
    [
        (AssessmentFacts(), "excellent"),
        (AssessmentFacts(lateness_complaints=4), "excellent"),  # efficiency 60: total 90
        (AssessmentFacts(attitude_complaints=1, average=1), "good"),  # 75, 60: total 84
        (AssessmentFacts(attitude_complaints=4, dissatisfied=1), "needs_improvement"),
    ],
)
def test_pen_8_the_band_is_the_packs_threshold_the_total_reaches(facts, band):
    assert assess_engineer(PACK, facts=facts).band == band


def test_pen_8_scores_never_go_below_zero_and_no_callback_counts_as_the_packs_value():
    decided = assess_engineer(PACK, facts=AssessmentFacts(attitude_complaints=9))
    assert (decided.attitude, decided.satisfaction) == (0, 100)


def test_pen_8_every_pack_has_an_assessment_with_thresholds_in_order():
    for name in BUILTIN_PACKS:
        spec = load_pack(name).assessment
        assert spec.good_from <= spec.excellent_from
        assert spec.weight_attitude + spec.weight_quality + spec.weight_efficiency > 0
    with pytest.raises(ValueError, match="good_from"):
        AssessmentSpec(good_from=95, excellent_from=90)
