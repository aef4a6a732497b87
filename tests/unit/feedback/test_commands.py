"""Every feedback command run on the in-memory unit of work with a fake store: the events
recorded, the timers they call for, and the refusals, without Kafka or PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from repairline_contracts.feedback import CallbackAnswers
from repairline_feedback import commands
from repairline_feedback.domain.complaint import (
    AnswerComplaint,
    EscalateComplaint,
    FileComplaint,
    VerifyComplaint,
)
from repairline_feedback.domain.followup import (
    AnswerSurvey,
    FireCallback,
    RecordCallback,
    ScheduleCallback,
    ServedTicket,
)
from repairline_feedback.domain.key_customer import NoteKeyCustomer
from repairline_feedback.domain.sample import DrawSample
from repairline_platform import commands as platform
from repairline_platform.clock import FixedClock
from repairline_platform.testing import InMemoryEventStore
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition, NotCaughtUp, NotFound
from tests.unit.feedback.fakes import needs

PACK = load_pack("water-heater")
COMPLETED = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # a Monday, 14:00 in Shanghai
DUE = datetime(2026, 6, 2, 0, 30, tzinfo=UTC)  # FBK-2: the next morning, 08:30 in Shanghai
T1 = ServedTicket(
    "t1",
    region="cn-east",
    engineer_id="eng-1",
    outlet_id="outlet-1",
    product_line="instant_water_heater",
    purchase_date=date(2026, 1, 8),
    serial_no="SN1",
)


class World:
    """The event store, the fake store and a clock the test moves."""

    def __init__(self) -> None:
        self.clock = FixedClock(COMPLETED)
        self.events = InMemoryEventStore(self.clock)
        self.needs, self.store = needs(PACK, self.events)
        self.store.serve(T1, COMPLETED)

    async def do(self, command, cmd) -> platform.CommandResult:
        with platform.bound("corr-1", "http:corr-1"):
            return await platform.in_unit(
                self.events.unit_of_work, lambda uow: command(cmd, uow, self.needs)
            )

    async def due_callback(self, ticket_id: str = "t1") -> str:
        """FBK-2: the completed repair's callback, scheduled and come due."""
        await self.do(
            commands.schedule_callback, ScheduleCallback(ticket_id, "after_service", COMPLETED)
        )
        self.clock.advance(DUE - self.clock.now())
        callback_id = f"{ticket_id}:after_service"
        await self.do(commands.fire_callback, FireCallback(ticket_id, callback_id, DUE))
        return callback_id

    def types(self, stream_id: str) -> list[str]:
        return [type(e).__name__ for e in self.events.events(stream_id)]


@pytest.fixture
def world() -> World:
    return World()


async def test_fbk_2_a_completed_repair_gets_one_callback_and_one_timer_however_often_it_is_heard(
    world,
):
    cmd = ScheduleCallback("t1", "after_service", COMPLETED)
    first = await world.do(commands.schedule_callback, cmd)
    again = await world.do(commands.schedule_callback, cmd)
    assert (first.events, again.events) == (("CallbackScheduled",), ())
    timer = world.events.timers["t1:after_service"]
    assert (timer.kind, timer.due_at, timer.payload["attempt"]) == ("callback_due", DUE, 1)
    assert timer.correlation_id == "corr-1"


async def test_fbk_1_phone_guidance_is_called_back_2_hours_later(world):
    guided = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    await world.do(commands.schedule_callback, ScheduleCallback("t2", "after_guidance", guided))
    timer = world.events.timers["t2:after_guidance"]
    assert timer.due_at == guided + timedelta(hours=2)


async def test_fbk_3_an_unreached_callback_is_retried_by_a_timer_of_its_own(world):
    callback_id = await world.due_callback()
    result = await world.do(commands.record_callback, RecordCallback(callback_id, reached=False))
    assert result.events == ("CallbackAttempted",)
    retry = world.events.timers[f"{callback_id}:retry:2"]
    assert retry.payload == {
        "callback_id": callback_id,
        "due_at": retry.due_at.isoformat(),
        "attempt": 2,
    }
    assert retry.due_at > DUE
    with pytest.raises(IllegalTransition) as not_due:
        await world.do(commands.record_callback, RecordCallback(callback_id, reached=False))
    assert not_due.value.state == "retry_pending"


async def test_fbk_5_a_dissatisfied_callback_names_the_served_engineer_and_plans_two_more(world):
    callback_id = await world.due_callback()
    sad = RecordCallback(callback_id, True, CallbackAnswers(on_time=False), "dissatisfied", "leak")
    result = await world.do(commands.record_callback, sad)
    assert result.events == (
        "CallbackCompleted",
        "RevisitRequested",
        "CallbackScheduled",
        "CallbackScheduled",
    )
    described = result.data["described"]
    assert described[1]["data"]["engineer_id"] == "eng-1"
    assert described[1]["data"]["outlet_id"] == "outlet-1"
    follow_ups = [e["data"]["callback_id"] for e in described[2:]]
    assert all(f in world.events.timers for f in follow_ups)
    assert {env.correlationid for env in world.events.envelopes()} == {"corr-1"}


async def test_fbk_3_a_callback_not_yet_due_is_refused_and_an_unknown_one_is_not_found(world):
    await world.do(commands.schedule_callback, ScheduleCallback("t1", "after_service", COMPLETED))
    with pytest.raises(IllegalTransition) as scheduled:
        await world.do(
            commands.record_callback, RecordCallback("t1:after_service", True, grade="satisfied")
        )
    assert scheduled.value.state == "scheduled"
    assert world.types("t1") == ["CallbackScheduled"]
    with pytest.raises(NotFound):
        await world.do(commands.record_callback, RecordCallback("nope", reached=False))


async def test_fbk_6_a_complaint_names_the_tickets_engineer_and_escalates_once_when_late(world):
    cmd = FileComplaint("t1", "hotline", "attitude", "rude")
    filed = await world.do(commands.file_complaint, cmd)
    complaint_id = filed.data["complaint_id"]
    [event] = world.events.events(filed.stream_id)
    assert (event.engineer_id, event.outlet_id, event.triggers) == ("eng-1", "outlet-1", ("PEN-1",))
    timer = world.events.timers[f"complaint:{complaint_id}"]
    assert (timer.kind, timer.due_at) == ("complaint_deadline", event.answer_by)

    early = await world.do(commands.escalate_complaint, EscalateComplaint(complaint_id))
    assert early.events == ()
    world.clock.advance(event.answer_by - world.clock.now() + timedelta(minutes=1))
    late = await world.do(commands.escalate_complaint, EscalateComplaint(complaint_id))
    again = await world.do(commands.escalate_complaint, EscalateComplaint(complaint_id))
    assert (late.events, again.events) == (("ComplaintEscalated",), ())


async def test_fbk_6_a_complaint_about_a_ticket_that_does_not_exist_is_refused(world):
    cmd = FileComplaint("no-such-ticket", "app", "overcharge", "80 yuan", None, 8000)
    with pytest.raises(NotFound, match="no-such-ticket"):
        await world.do(commands.file_complaint, cmd)
    assert not [s for s in world.events.streams if s.startswith("complaint:")]


async def test_fbk_6_a_complaint_naming_the_version_its_caller_was_told_waits_for_the_ticket(
    world,
):
    cmd = FileComplaint("t-new", "app", "attitude", "rude", ticket_version=1)
    with pytest.raises(NotCaughtUp):
        await world.do(commands.file_complaint, cmd)
    world.store.serve(ServedTicket("t-new", engineer_id="eng-1"), COMPLETED)
    filed = await world.do(commands.file_complaint, cmd)
    assert filed.events == ("ComplaintFiled",)


async def test_fbk_6_a_complaint_is_answered_once_and_decided_once(world):
    filed = await world.do(
        commands.file_complaint, FileComplaint("t1", "app", "overcharge", "80 yuan", None, 8000)
    )
    complaint_id = filed.data["complaint_id"]
    answered = await world.do(commands.answer_complaint, AnswerComplaint(complaint_id, "sorry"))
    verified = await world.do(
        commands.verify_complaint, VerifyComplaint(complaint_id, True, "paid 80")
    )
    assert (answered.events, verified.events) == (("ComplaintAnswered",), ("ComplaintVerified",))
    with pytest.raises(IllegalTransition):
        await world.do(commands.answer_complaint, AnswerComplaint(complaint_id, "again"))
    with pytest.raises(IllegalTransition):
        await world.do(commands.verify_complaint, VerifyComplaint(complaint_id, False, "no"))
    with pytest.raises(NotFound):
        await world.do(commands.answer_complaint, AnswerComplaint("C-none", "sorry"))


async def test_fbk_7_the_sample_is_drawn_once_from_those_served_that_year(world):
    world.store.serve(ServedTicket("t-2025"), datetime(2025, 11, 29, tzinfo=UTC))
    drawn = await world.do(commands.draw_sample, DrawSample(2026, 100))
    [event] = world.events.events("survey:2026")
    assert drawn.events == ("SurveySampleDrawn",) and event.sample == ("t1",)
    with pytest.raises(IllegalTransition) as again:
        await world.do(commands.draw_sample, DrawSample(2026, 10))
    assert again.value.state == "drawn"


async def test_fbk_7_war_11_a_sampled_customer_answers_once_and_earns_the_reward(world):
    answer = AnswerSurvey("t1", 2026, "average", "a timer", True, "warranty_extension")
    with pytest.raises(IllegalTransition) as undrawn:
        await world.do(commands.answer_survey, answer)
    assert undrawn.value.state == "sample_not_drawn"
    await world.do(commands.draw_sample, DrawSample(2026, 100))
    result = await world.do(commands.answer_survey, answer)
    assert result.events == ("SurveyAnswered", "ExtensionRewardGranted")
    assert result.data["described"][1]["data"]["serial_no"] == "SN1"
    with pytest.raises(IllegalTransition) as twice:
        await world.do(commands.answer_survey, answer)
    assert twice.value.state == "answered"
    with pytest.raises(NotFound):
        await world.do(
            commands.answer_survey, AnswerSurvey("t-unknown", 2026, "average", "x", False)
        )


async def test_fbk_2_a_key_customer_noted_again_with_the_same_note_records_nothing(world):
    first = await world.do(commands.note_key_customer, NoteKeyCustomer("Acme", "vip"))
    same = await world.do(commands.note_key_customer, NoteKeyCustomer("Acme", "vip"))
    other = await world.do(commands.note_key_customer, NoteKeyCustomer("Acme", "framework"))
    assert (first.events, same.events, other.events) == (
        ("KeyCustomerNoted",),
        (),
        ("KeyCustomerNoted",),
    )
    assert first.stream_id == "key-customer:Acme"
