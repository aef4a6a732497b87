"""Feedback decisions: pure, over the policy pack."""

from __future__ import annotations

from datetime import datetime

from repairline_contracts.base import Decision
from repairline_contracts.feedback import CallbackDue, CallbackScheduled
from repairline_rules import followup
from repairline_rules.packs import PolicyPack


def callback_id_for(ticket_id: str, reason: str) -> str:
    return f"{ticket_id}:{reason}"


def schedule_after_service(
    pack: PolicyPack, *, ticket_id: str, completed_at: datetime
) -> CallbackScheduled:
    """FBK-2: the follow-up call after a completed service."""
    decided = followup.callback_after_service(pack, completed_at=completed_at)
    return CallbackScheduled(
        ticket_id=ticket_id,
        callback_id=callback_id_for(ticket_id, "after_service"),
        due_at=decided.due_at,
        reason="after_service",
        decision=Decision(
            pack_id=decided.pack_id, pack_version=decided.pack_version, rule_ids=decided.rule_ids
        ),
    )


def fire(
    scheduled_due_at: datetime, *, ticket_id: str, callback_id: str, now: datetime
) -> CallbackDue:
    return CallbackDue(
        ticket_id=ticket_id, callback_id=callback_id, due_at=scheduled_due_at, fired_at=now
    )
