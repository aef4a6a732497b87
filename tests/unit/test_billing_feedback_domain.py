from __future__ import annotations

from datetime import UTC, date, datetime

from repairline_feedback.domain import schedule_after_service
from repairline_rules import load_pack

PACK = load_pack("water-heater")
COMPLETED = datetime(2026, 6, 3, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


def test_fbk_2_a_completed_repair_is_called_back_on_the_next_morning_list():
    scheduled = schedule_after_service(PACK, ticket_id="t1", completed_at=COMPLETED)
    local = scheduled.due_at.astimezone(PACK.zone)
    assert local.date() == date(2026, 6, 4)
    assert scheduled.due_at > COMPLETED
    assert scheduled.decision.rule_ids == ("FBK-2",)
    assert scheduled.callback_id == "t1:after_service"
