"""Which fields on the wire are personal data: the customer's identity and whereabouts,
the name of whoever signed on the customer's side, and an engineer's home position.

Exports and the event catalogue read this list: an analyst's copy of the log carries a
keyed hash in these fields instead of the value, so one customer can be followed across
events without being identified.
"""

from __future__ import annotations

from pydantic import BaseModel

from repairline_contracts.dispatch import ConsentRecorded, EngineerRosterChanged, RepairCompleted
from repairline_contracts.feedback import KeyCustomerNoted
from repairline_contracts.intake import Customer, RepairRequested, RequestVerified

# model -> its personal fields; a field holding a model or a list of models is not listed
# here, its own personal fields are.
PERSONAL_FIELDS: dict[type[BaseModel], frozenset[str]] = {
    Customer: frozenset({"name", "phone", "mobile", "address"}),
    RepairRequested: frozenset({"location"}),
    RequestVerified: frozenset({"location"}),
    RepairCompleted: frozenset({"signed_by"}),
    ConsentRecorded: frozenset({"signed_by"}),
    EngineerRosterChanged: frozenset({"home_lat", "home_lon"}),
    KeyCustomerNoted: frozenset({"name"}),  # a customer's (or an organisation's) name
}


def is_personal(model: type[BaseModel], field: str) -> bool:
    return field in PERSONAL_FIELDS.get(model, frozenset())
