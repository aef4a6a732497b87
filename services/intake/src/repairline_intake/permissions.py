"""Who may do what in intake: permission -> the roles granting it.

Region scope and own-tickets scope (a dealer's, a customer's) are applied by the views
and commands to the caller the edge bound; this table only says who gets in.
"""

from __future__ import annotations

from repairline_platform.access import Permissions

PERMISSIONS = Permissions(
    {
        # the call centre, the dealers and the app/web channel open tickets
        "ticket.create": {"agent", "dealer", "customer"},
        "ticket.read": {
            "agent",
            "dispatcher",
            "engineer",
            "dealer",
            "billing",
            "quality",
            "analyst",
            "customer",
        },
        "ticket.update": {"agent"},
        "ticket.guidance": {"agent"},
        "ticket.warranty": {"agent"},
        "ticket.cancel": {"agent"},
        "sales.record": {"agent", "dealer"},
        # WAR-3: the agent (or the dealer) looks a unit up by its serial number
        "sales.read": {"agent", "dealer"},
    }
)
may = PERMISSIONS
