"""The engineer's and the money page's own logic, without a browser or a service: what
to bring, what an inspection, a quote, an appeal and a ruling send, what the page itself
refuses (each field named)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from repairline_console import i18n
from repairline_console.backend import Answer
from repairline_console.engineer import (
    dispatch_received,
    inspection_body,
    parts_to_bring,
    quote_after_inspection,
    quote_body,
)
from repairline_console.followup import complaint_clock
from repairline_console.money import appeal_body, cleaned_query, ruling_body
from repairline_console.web import Session, templates
from repairline_platform.auth import Principal

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_dsp4_what_to_bring_is_each_parts_latest_word_in_the_order_first_asked():
    timeline = [
        {"type": "repairline.dispatch.EngineerAssigned", "engineer_id": "e1"},
        {"type": "repairline.dispatch.PartsRequested", "part": "thermostat"},
        {"type": "repairline.dispatch.PartsRequested", "part": "control_board"},
        {"type": "repairline.dispatch.PartsBackordered", "part": "thermostat"},
        {"type": "repairline.dispatch.PartsArrived", "part": "thermostat"},
        {"type": "repairline.dispatch.WrongPartOnSite", "part": "control_board"},
        {"type": "repairline.dispatch.PartsRequested"},
    ]
    assert parts_to_bring(timeline) == [
        {"part": "thermostat", "status": "arrived"},
        {"part": "control_board", "status": "wrong"},
    ]
    assert parts_to_bring([]) == []


def test_war4_an_inspection_states_only_what_was_answered_and_names_a_bad_field():
    form = {
        "supply_voltage_v": " 250.5 ",
        "wiring_to_code": "yes",
        "misuse": "no",
        "unauthorised_repair": "",
        "invoice_date": "2026-03-01",
        "warranty_card_date": "",
    }
    body, errors = inspection_body(form)
    assert errors == {}
    assert body == {
        "supply_voltage_v": 250.5,
        "wiring_to_code": True,
        "misuse": False,
        "invoice_date": "2026-03-01",
    }
    body, errors = inspection_body({"supply_voltage_v": "high", "invoice_date": "03/01/2026"})
    assert set(errors) == {"supply_voltage_v", "invoice_date"} and body == {}


def test_fee4_a_quote_from_the_phone_is_one_price_list_line_or_the_visit_alone():
    assert quote_body("eng-1", {"part": " thermostat ", "quantity": "2"}) == {
        "engineer_id": "eng-1",
        "parts": [{"code": "thermostat", "quantity": 2}],
    }
    # a quantity that is not a number goes as typed: billing's 422 names the field
    assert quote_body("eng-1", {"part": "tank", "quantity": "x"})["parts"][0]["quantity"] == "x"
    assert quote_body("eng-1", {"part": ""}) == {"engineer_id": "eng-1", "parts": []}


class _Dispatch:
    """Dispatch's `GET /tickets/{id}/received` answering from a script, one answer a call."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str, str]] = []

    async def get(self, token: str, service: str, path: str) -> Answer:
        self.asked.append((token, service, path))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


async def test_fee4_the_acceptance_is_reported_once_dispatch_has_received_it():
    behind = Answer(200, {"quote_state": None})
    deciding = Answer(200, {"quote_state": "accepted", "warranty_pending": True})  # WAR-4
    dispatch = _Dispatch(
        Answer(503, {"error": "unavailable"}),
        behind,
        deciding,
        Answer(200, {"quote_state": "accepted", "warranty_pending": False}),
    )
    assert await dispatch_received(dispatch, "tok", "T-1", "accepted", wait=5, every=0)  # type: ignore[arg-type]
    assert dispatch.asked == [("tok", "dispatch", "/tickets/T-1/received")] * 4


async def test_fee4_dispatch_still_behind_after_the_wait_is_said_not_hidden():
    dispatch = _Dispatch(Answer(200, {"quote_state": "refused"}))
    assert not await dispatch_received(dispatch, "tok", "T-1", "accepted", wait=0.05, every=0.01)  # type: ignore[arg-type]
    assert len(dispatch.asked) >= 2
    page = _page("engineer.html", done="quote_acceptance_pending")
    assert "has not received it yet" in page


class _Services(_Dispatch):
    """Dispatch's `received` and billing's quotes, answering from scripts."""

    def __init__(self, received: Answer, *quotes: Answer) -> None:
        super().__init__(received)
        self.quotes = list(quotes)
        self.posted: list[tuple[str, str, dict[str, Any]]] = []

    async def post(self, token: str, service: str, path: str, body: dict[str, Any]) -> Answer:
        self.posted.append((service, path, body))
        return self.quotes.pop(0) if len(self.quotes) > 1 else self.quotes[0]


BEHIND = Answer(409, {"error": "not_caught_up", "detail": "billing has not seen ..."})


async def test_war4_fee4_a_quote_names_the_inspection_and_is_asked_again_until_priced_on_it():
    services = _Services(
        Answer(200, {"quote_state": None, "inspection_id": "ev-insp"}),
        BEHIND,
        BEHIND,
        Answer(201, {"quote_id": "Q-1", "total_fen": 3000}),
    )
    body = quote_body("eng-1", {"part": "thermostat"})
    answer = await quote_after_inspection(services, "tok", "T-1", body, wait=5, every=0)  # type: ignore[arg-type]
    assert answer.status == 201
    assert [p[2]["after_inspection"] for p in services.posted] == ["ev-insp"] * 3
    assert {(p[0], p[1]) for p in services.posted} == {("billing", "/tickets/T-1/quotes")}
    assert "after_inspection" not in body  # the form's body itself is left as it was


async def test_war4_fee4_a_quote_without_an_inspection_names_none_and_a_refusal_is_not_retried():
    refused = Answer(409, {"error": "illegal_transition", "detail": "quote already accepted"})
    services = _Services(Answer(200, {"inspection_id": None}), refused)
    answer = await quote_after_inspection(services, "tok", "T-1", {"parts": []}, wait=5, every=0)  # type: ignore[arg-type]
    assert answer is refused
    assert services.posted == [("billing", "/tickets/T-1/quotes", {"parts": []})]


async def test_war4_fee4_billing_still_without_the_decision_after_the_wait_is_said_not_hidden():
    services = _Services(Answer(200, {"inspection_id": "ev-insp"}), BEHIND)
    answer = await quote_after_inspection(services, "tok", "T-1", {}, wait=0.05, every=0.01)  # type: ignore[arg-type]
    assert answer.status == 409 and len(services.posted) >= 2
    page = _page("engineer.html", problem="quote_decision_pending")
    assert "has not yet decided the warranty on your inspection" in page


def test_pen_an_appeal_and_a_ruling_need_their_reason_and_a_ruling_its_verdict():
    assert appeal_body({"reason": " the customer moved "}) == ({"reason": "the customer moved"}, {})
    assert appeal_body({"reason": " "})[1] == {"reason": "a reason is needed"}
    assert ruling_body({"void": "yes", "reason": "proof shown"}) == (
        {"void": True, "reason": "proof shown"},
        {},
    )
    assert ruling_body({"void": "no", "reason": "x"})[0]["void"] is False
    assert set(ruling_body({"reason": ""})[1]) == {"void", "reason"}


def test_the_money_query_is_checked_and_an_engineer_reads_his_own_ledger_by_default():
    engineer = Session("tok", Principal("e1", frozenset({"engineer"}), engineer_id="eng-1"), "en")
    billing = Session("tok", Principal("b1", frozenset({"billing"})), "en")
    assert cleaned_query({}, engineer)["engineer"] == "eng-1"
    assert cleaned_query({"outlet": "out-1"}, engineer)["engineer"] is None
    assert cleaned_query({}, billing) == {
        "ticket": None,
        "engineer": None,
        "outlet": None,
        "period": None,
    }
    odd = cleaned_query({"ticket": "a b", "period": "2026-13", "outlet": "o1"}, billing)
    assert (odd["ticket"], odd["period"], odd["outlet"]) == (None, None, "o1")


def test_fbk6_a_complaints_clock_is_amber_within_a_day_and_red_once_passed_or_escalated():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    by = {"answer_by": "2026-11-26T09:00:00+00:00", "status": "open"}
    assert complaint_clock(by, now) == ("green", "48h00")
    assert complaint_clock(by, datetime(2026, 11, 25, 10, 0, tzinfo=UTC)) == ("amber", "23h00")
    assert complaint_clock(by, datetime(2026, 11, 26, 9, 30, tzinfo=UTC)) == ("red", "-0h30")
    assert complaint_clock({**by, "escalated_at": "x", "status": "escalated"}, now)[0] == "red"
    answered = {**by, "answered_at": "2026-11-25T08:00:00+00:00", "status": "answered"}
    assert complaint_clock(answered, now) == ("done", "")
    assert complaint_clock({"status": "open"}, now) == ("none", "")


def _page(name: str, **context: Any) -> str:
    """A template rendered as the page would be, with the English labels."""
    base = {
        "user": None,
        "locale": "en",
        "t": lambda key, **values: i18n.translate("en", key, **values),
        "when": lambda v: i18n.moment(v, SHANGHAI),
        "clock": lambda v: i18n.moment(v, SHANGHAI, time_only=True),
        "yuan": i18n.yuan,
    }
    return templates.env.get_template(name).render(**base, **context)


def _ledger_page(status: str, *, may_appeal: bool, may_rule: bool) -> str:
    entry = {
        "penalty_id": "PEN-1:c1",
        "ticket_id": "t1",
        "offence_at": "2026-11-24T01:00:00+00:00",
        "fine_fen": 20000,
        "rule_ids": ["PEN-1"],
        "status": status,
        "reason": "verified complaint",
    }
    book = {"fines_fen": 20000, "standing": 1, "voided": 0, "entries": [entry]}
    return _page(
        "money.html",
        query={"engineer": "eng-1", "ticket": None, "outlet": None, "period": None},
        problems={},
        engineer_ledger=book,
        may_appeal=may_appeal,
        may_rule=may_rule,
    )


def test_pen_a_penalty_offers_the_appeal_and_the_ruling_only_to_the_roles_that_may():
    appeal = 'action="/money/penalties/PEN-1:c1/appeal"'
    ruling = 'action="/money/penalties/PEN-1:c1/ruling"'
    assert appeal in _ledger_page("assessed", may_appeal=True, may_rule=False)
    assert appeal not in _ledger_page("assessed", may_appeal=False, may_rule=True)
    assert ruling in _ledger_page("appealed", may_appeal=False, may_rule=True)
    assert ruling not in _ledger_page("appealed", may_appeal=True, may_rule=False)
    voided = _ledger_page("voided", may_appeal=True, may_rule=True)
    assert appeal not in voided and ruling not in voided and "voided" in voided
    # the form carries the page's query back, so the same ledger shows after the answer
    assert 'name="engineer" value="eng-1"' in _ledger_page(
        "assessed", may_appeal=True, may_rule=False
    )


def test_fbk5_a_dissatisfied_case_lists_the_callbacks_that_follow_its_revisit():
    case = {
        "ticket_id": "t1-ticket",
        "reason": "still no hot water",
        "requested_at": "2026-11-24T01:00:00+00:00",
        "visit": {"state": "completed", "engineer_id": "eng-1"},
        "followups": [
            {"status": "completed", "due_at": "2026-11-20T01:00:00+00:00", "grade": "dissatisfied"},
            {"status": "scheduled", "due_at": "2026-11-26T01:00:00+00:00", "grade": None},
        ],
    }
    html = _page(
        "followup.html",
        morning=None,
        due=[],
        retries=[],
        cases=[case],
        complaints=[],
        questions=(),
        grades=(),
    )
    assert html.count('data-testid="followup-call"') == 2
    assert "scheduled · 2026-11-26 09:00" in html and "done · 2026-11-20 09:00" in html
