"""The outlet roster (stream `outlets`): which outlet an engineer's work is settled to
(FEE-6), and FEE-8 maintenance contracts (stream `contract:<id>`). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from repairline_contracts.base import Event
from repairline_contracts.billing import MaintenanceContractRegistered, OutletRosterChanged
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import IllegalTransition

ROSTER_STREAM = "outlets"


@dataclass(frozen=True)
class ChangeOutlet:
    """Set an outlet's name, region and engineers."""

    outlet_id: str
    name: str
    region: str
    engineer_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisterContract:
    """FEE-8: a maintenance contract for a unit; its visits are covered for a year."""

    contract_id: str
    serial_no: str
    starts_on: date


def contract_stream(contract_id: str) -> str:
    return f"contract:{contract_id}"


def fold(stream_id: str, events: Iterable[Event]) -> int:
    """How many changes the stream holds (the roster and contracts keep no state)."""
    return sum(1 for _ in events)


def decide_outlet(command: ChangeOutlet, *, now: datetime) -> list[Event]:
    return [
        OutletRosterChanged(
            ticket_id=ROSTER_STREAM,
            outlet_id=command.outlet_id,
            name=command.name,
            region=command.region,
            engineer_ids=command.engineer_ids,
            changed_at=now,
        )
    ]


def decide_contract(command: RegisterContract, *, pack: PolicyPack, now: datetime) -> list[Event]:
    """FEE-8 only where the pack has maintenance contracts."""
    if pack.fees.contract is None:
        raise IllegalTransition(
            f"pack {pack.id} has no maintenance contracts (FEE-8)", "no-contracts"
        )
    return [
        MaintenanceContractRegistered(
            ticket_id=contract_stream(command.contract_id),
            contract_id=command.contract_id,
            serial_no=command.serial_no,
            starts_on=command.starts_on,
            registered_at=now,
        )
    ]
