"""Composition root of the billing service."""

from __future__ import annotations

import sys

from repairline_billing.api import routes
from repairline_billing.commands import Billing
from repairline_billing.migrations import MIGRATIONS
from repairline_billing.permissions import PERMISSIONS
from repairline_billing.projections import all_projections
from repairline_billing.reactions import (
    ChargeOnCompletion,
    ComplaintOutcomes,
    PenaltyEvidence,
    timer_handlers,
)
from repairline_platform.cli import run_cli
from repairline_platform.runtime import Runtime, ServiceSpec


def reactions(rt: Runtime) -> list[object]:
    billing = Billing(rt.pack_now)
    return [ChargeOnCompletion(billing), PenaltyEvidence(billing), ComplaintOutcomes(billing)]


SPEC = ServiceSpec(
    name="billing",
    permissions=PERMISSIONS,
    pack_sections=("warranty", "fees", "penalties", "assessment"),
    default_port=8103,
    migrations=MIGRATIONS,
    handlers=lambda rt: [*reactions(rt), *all_projections()],
    routes=routes,
    timer_handlers=lambda rt: timer_handlers(Billing(rt.pack_now)),
    description="Tariffs, charges, invoices, penalties and outlet settlement.",
)


def cli() -> None:
    sys.exit(run_cli(SPEC))


if __name__ == "__main__":
    cli()
