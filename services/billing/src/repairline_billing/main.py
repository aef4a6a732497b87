"""Composition root of the billing service."""

from __future__ import annotations

import sys

from repairline_billing.api import routes
from repairline_billing.handlers import ChargeOnCompletion, Charges
from repairline_billing.migrations import MIGRATIONS
from repairline_platform.cli import run_cli
from repairline_platform.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="billing",
    default_port=8103,
    migrations=MIGRATIONS,
    handlers=lambda rt: [ChargeOnCompletion(rt.pack), Charges()],
    routes=routes,
    description="Tariffs, charges, invoices, penalties and outlet settlement.",
)


def cli() -> None:
    sys.exit(run_cli(SPEC))


if __name__ == "__main__":
    cli()
