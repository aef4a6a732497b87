"""Who may do what in dispatch: permission -> the roles granting it.

Region scope and an engineer's own jobs are applied by the views and commands to the
caller the edge bound; this table only says who gets in.
"""

from __future__ import annotations

from repairline_platform.access import Permissions

PERMISSIONS = Permissions(
    {
        "roster.read": {"dispatcher", "analyst"},
        "roster.change": {"dispatcher"},
        "schedule.read": {"dispatcher", "engineer", "analyst"},
        "key_account.read": {"dispatcher", "quality", "analyst"},
        "key_account.change": {"dispatcher"},
        "appointment.book": {"dispatcher"},
        "assignment.change": {"dispatcher"},
        # the engineer or the dispatcher tried to reach the customer
        "contact.record": {"dispatcher", "engineer"},
        # the engineer's app; a dispatcher records what an engineer reports by phone
        "visit.report": {"engineer", "dispatcher"},
        "board.read": {"dispatcher", "engineer", "agent", "quality", "analyst"},
        "alerts.read": {"dispatcher", "analyst"},
        "plan.read": {"dispatcher", "analyst"},
        "plan.change": {"dispatcher"},
        # DSP-1/DSP-2: the agent offers the customer the next free windows
        "windows.read": {"agent", "dispatcher"},
        # on-time visits and SLA breaches per region and week
        "report.read": {"dispatcher", "quality", "billing", "analyst"},
    }
)
may = PERMISSIONS
