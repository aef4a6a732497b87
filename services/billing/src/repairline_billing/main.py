"""Composition root of the billing service."""

from __future__ import annotations

import sys

from repairline_billing.api import routes
from repairline_billing.handlers import (
    Assessments,
    CallbackGrades,
    ChargeOnCompletion,
    Charges,
    ComplaintOutcomes,
    Penalties,
    PenaltyEvidence,
    Quotes,
    Refunds,
    Settlements,
    Trips,
    timer_handlers,
)
from repairline_billing.migrations import MIGRATIONS
from repairline_platform.cli import run_cli
from repairline_platform.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="billing",
    default_port=8103,
    migrations=MIGRATIONS,
    handlers=lambda rt: [
        ChargeOnCompletion(rt.pack),
        PenaltyEvidence(rt.pack),
        ComplaintOutcomes(rt.pack),
        Charges(),
        Quotes(),
        Penalties(),
        Refunds(),
        Settlements(),
        Trips(),
        CallbackGrades(),
        Assessments(),
    ],
    routes=routes,
    timer_handlers=lambda rt: timer_handlers(rt.pack),
    description="Tariffs, charges, invoices, penalties and outlet settlement.",
)


def cli() -> None:
    sys.exit(run_cli(SPEC))


if __name__ == "__main__":
    cli()
