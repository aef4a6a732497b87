"""Who may do what in feedback: permission -> the roles granting it.

Region scope, masking and the analyst's pseudonymised reads are applied by the views to
the caller the edge bound; this table only says who gets in.
"""

from __future__ import annotations

from repairline_platform.access import Permissions

PERMISSIONS = Permissions(
    {
        "callback.read": {"quality", "analyst"},
        "callback.record": {"quality"},
        "key_customer.change": {"quality"},
        "case.read": {"quality", "analyst"},
        # complaints come from every channel
        "complaint.file": {"quality", "agent", "dealer", "customer"},
        "complaint.read": {"quality", "agent", "analyst"},
        "complaint.answer": {"quality", "agent"},
        "complaint.verify": {"quality"},
        "survey.draw": {"quality"},
        # a survey answered in the app, or to the call centre on the phone
        "survey.answer": {"customer", "quality", "agent"},
        "report.read": {"quality", "billing", "analyst"},
    }
)
may = PERMISSIONS
