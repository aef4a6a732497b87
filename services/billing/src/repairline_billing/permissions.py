"""Who may do what in billing: permission -> the roles granting it.

Region scope and an engineer's own ledger are applied by the views and commands to the
caller the edge bound; this table only says who gets in.
"""

from __future__ import annotations

from repairline_platform.access import Permissions

PERMISSIONS = Permissions(
    {
        "charge.read": {"billing", "agent", "dealer", "customer", "quality", "analyst"},
        "quote.read": {"billing", "engineer", "agent", "dealer", "customer", "analyst"},
        "quote.issue": {"billing", "engineer"},
        # the customer answers a quote, in the app or to the engineer or the call centre
        "quote.answer": {"customer", "engineer", "agent"},
        "service_record.file": {"billing"},
        "penalty.read": {"billing", "quality", "engineer", "analyst"},
        "penalty.appeal": {"billing", "engineer"},
        "penalty.rule": {"quality"},
        "ledger.read": {"billing", "quality", "engineer", "analyst"},
        "refund.read": {"billing", "quality", "analyst"},
        "outlet.read": {"billing", "analyst"},
        "outlet.change": {"billing"},
        "settlement.read": {"billing", "analyst"},
        "settlement.issue": {"billing"},
        "contract.register": {"billing"},
        # the coordinator could not reach the engineer
        "staff.unreachable": {"billing", "dispatcher"},
        "trip.read": {"billing", "engineer", "analyst"},
        "trip.grant": {"billing"},
        "assessment.read": {"billing", "quality", "engineer", "analyst"},
        "assessment.run": {"billing"},
    }
)
may = PERMISSIONS
