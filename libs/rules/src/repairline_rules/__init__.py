"""repairline's pure rules core: policy packs and the decisions made from them.

Pure functions over validated data: no Kafka, database, HTTP, clock or logging.
Every decision carries the pack id and version and the rule ids that produced it.
"""

from repairline_rules.calendar import BusinessCalendar, Pause, SlaClock, sla_deadline
from repairline_rules.decision import Decision
from repairline_rules.packs import (
    BUILTIN_PACKS,
    NotInPack,
    PackBook,
    PackError,
    PolicyPack,
    UnknownPack,
    UnknownProduct,
    load_book,
    load_pack,
    load_pack_versions,
    load_packs,
)
from repairline_rules.registry import rule
from repairline_rules.routing import PackRouting, load_deployment

__all__ = [
    "BUILTIN_PACKS",
    "BusinessCalendar",
    "Decision",
    "NotInPack",
    "PackBook",
    "PackError",
    "PackRouting",
    "Pause",
    "PolicyPack",
    "SlaClock",
    "UnknownPack",
    "UnknownProduct",
    "load_book",
    "load_deployment",
    "load_pack",
    "load_pack_versions",
    "load_packs",
    "rule",
    "sla_deadline",
]
