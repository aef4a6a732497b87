"""Feedback's commands in the caller's regions: a callback or a complaint of a ticket
served outside them is answered as if it did not exist (404)."""

from __future__ import annotations

import pytest

from repairline_contracts.feedback import CallbackAnswers
from repairline_feedback import commands
from repairline_feedback.domain.complaint import AnswerComplaint, FileComplaint
from repairline_feedback.domain.followup import RecordCallback
from repairline_platform.auth import Principal, bound_principal
from repairline_rules.refusals import NotFound
from tests.unit.feedback.test_commands import World


def quality_of(region: str) -> Principal:
    p = Principal(f"quality-{region}", frozenset({"quality"}), regions=frozenset({region}))
    return p.acting(frozenset({"quality"}))


async def test_fbk_6_quality_of_cn_north_cannot_file_or_answer_a_cn_east_complaint_404():
    world = World()  # t1 served in cn-east
    filing = FileComplaint("t1", "app", "overcharge", "80 yuan", None, 8000)
    with bound_principal(quality_of("cn-north")), pytest.raises(NotFound):
        await world.do(commands.file_complaint, filing)
    filed = await world.do(commands.file_complaint, filing)
    answer = AnswerComplaint(filed.data["complaint_id"], "sorry")
    with bound_principal(quality_of("cn-north")), pytest.raises(NotFound):
        await world.do(commands.answer_complaint, answer)
    with bound_principal(quality_of("cn-east")):
        assert (await world.do(commands.answer_complaint, answer)).events == ("ComplaintAnswered",)


async def test_fbk_3_quality_of_cn_north_cannot_record_a_cn_east_callback_404():
    world = World()
    callback_id = await world.due_callback()
    reached = RecordCallback(callback_id, True, CallbackAnswers(on_time=True), "satisfied")
    with bound_principal(quality_of("cn-north")), pytest.raises(NotFound):
        await world.do(commands.record_callback, reached)
