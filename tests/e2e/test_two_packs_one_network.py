"""One network, two makers' packs: water-heater and pc-depot tickets interleaved in one
deployment of the four services, each decided by its own pack (FEE-1 tariff, DSP-3
response commitment, FBK-2 callback), and a water-heater tariff change that takes
effect in the middle: tickets opened before keep the old fee, tickets opened after get
the new one, and replay from offset 0 gives the same views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from repairline_rules.packs import BUILTIN_PACKS
from tests.support.system import System, eventually, utc

START = date(2026, 11, 9)  # a Monday; the next three days are ordinary working days
CHANGE = date(2026, 11, 12)  # the water-heater maker's new tariff takes effect
OLD_FEE, NEW_FEE = 4000, 4600  # FEE-1: instant water heater, on site, municipality
PC_FEE = 10000  # FEE-1: pc-depot, any product, on site
OUT_OF_WARRANTY = {"invoice_date": "2024-03-01"}
SIGNED = {"signed_by": "Li Wei", "repair_record": {"fault_found": "worn part"}}


def packs_files(folder: Path) -> dict[str, str]:
    """The water-heater pack with a later version changing one fee, and a mapping that
    sends notebooks and desktops to pc-depot and everything else to water-heater."""
    text = resources.files("repairline_rules").joinpath("packs", "water-heater.toml").read_text()
    pack = folder / "water-heater.toml"
    pack.write_text(
        text
        + f"""

[[versions]]
version = "2026.11"
effective_from = {CHANGE.isoformat()}

[versions.fees.visit_tariff_fen.instant_water_heater.on_site]
municipality = {NEW_FEE}
""",
        "utf-8",
    )
    routing = folder / "routing.toml"
    routing.write_text(
        'default = "water-heater"\n\n[[routes]]\npack = "pc-depot"\n'
        'product_lines = ["notebook", "desktop"]\n',
        "utf-8",
    )
    packs = [str(pack), *(p for p in BUILTIN_PACKS if p != "water-heater")]
    return {
        "REPAIRLINE_POLICY_PACKS": "[" + ", ".join(f'"{p}"' for p in packs) + "]",
        "REPAIRLINE_PACK_ROUTING": str(routing),
        "REPAIRLINE_CLOCK_DATE": START.isoformat(),
    }


@pytest.fixture
async def network(prefix: str, tmp_path: Path) -> AsyncIterator[System]:
    system = System(prefix, "water-heater", extra_env=packs_files(tmp_path))
    try:
        yield system.start().begin_business_day()
    finally:
        system.stop()
        await system.drop()


def open_ticket(network: System, line: str) -> str:
    body = network.body(
        line,
        city_tier="municipality",
        proof=OUT_OF_WARRANTY,
        product={"purchase_date": "2024-03-01"},
    )
    return network.create(body)["ticket_id"]


async def until(check: Any) -> Any:
    return await eventually(check, timeout=90, interval=0.1)


async def quote_and_complete(network: System, ticket: str) -> dict[str, Any]:
    """Arrival, the FEE-1 quote accepted (FEE-4), the work and the signed completion."""
    await network.board(ticket, lambda b: b.get("engineer_id"))
    network.cmd(f"/tickets/{ticket}/arrival")

    async def quoted() -> Any:  # FEE-4, once billing has seen the request
        status, answer = network.billing.request(
            "POST", f"/tickets/{ticket}/quotes", {"engineer_id": "eng-1", "parts": []}
        )
        assert status in (200, 201, 404), answer
        return answer if status != 404 else None

    quote = await until(quoted)
    network.ok(network.billing, "POST", f"/tickets/{ticket}/quotes/{quote['quote_id']}/acceptance")

    async def started() -> Any:
        status, _ = network.dispatch.request("POST", f"/tickets/{ticket}/work-started", {})
        return status == 200 or None

    await until(started)
    network.cmd(f"/tickets/{ticket}/completion", {"resolution": "fixed", **SIGNED})
    return quote


async def visit_deadlines(network: System, tickets: list[str]) -> dict[str, str | None]:
    """Each assigned ticket's DSP-3 visit deadline from the dispatcher's board."""
    assert network.day is not None
    days = [network.day + timedelta(days=n) for n in range(5)]

    async def assigned() -> Any:
        seen: dict[str, str | None] = {}
        for day in days:
            for row in network.ok(network.dispatch, "GET", f"/board?day={day.isoformat()}"):
                if row["ticket_id"] in tickets and row["engineer_id"]:
                    seen[row["ticket_id"]] = row["visit_by"]
        return seen if set(seen) == set(tickets) else None

    return await until(assigned)


async def callback_due(network: System, ticket: str) -> datetime:
    async def scheduled() -> Any:
        status, rows = network.feedback.request(
            "GET", f"/callbacks?status=scheduled&ticket_id={ticket}"
        )
        mine = [c for c in rows if c["callback_id"] == f"{ticket}:after_service"]
        return mine[0] if status == 200 and mine else None

    return datetime.fromisoformat((await until(scheduled))["due_at"])


async def test_fee_1_dsp_3_fbk_2_two_packs_and_a_tariff_change_in_one_deployment(network):
    assert network.day is not None and network.day < CHANGE
    outlet = {"name": "Hangzhou outlet", "region": "cn-east", "city_tier": "municipality"}
    network.ok(network.dispatch, "PUT", "/service-points/sp-hz", outlet)
    for n in (1, 2):
        network.engineer(
            f"eng-{n}", ["instant_water_heater", "notebook"], n, service_point_id="sp-hz"
        )

    opened = network.at("09:00")
    heater_before, notebook_before = (
        open_ticket(network, "instant_water_heater"),
        open_ticket(network, "notebook"),
    )
    reopened = network.at(
        datetime.combine(CHANGE, datetime.min.time(), network.zone) + timedelta(hours=9)
    )
    heater_after, notebook_after = (
        open_ticket(network, "instant_water_heater"),
        open_ticket(network, "notebook"),
    )
    tickets = {
        heater_before: ("water-heater", "2026.1"),
        notebook_before: ("pc-depot", "2026.1"),
        heater_after: ("water-heater", "2026.11"),
        notebook_after: ("pc-depot", "2026.1"),
    }

    # the pack and version of each ticket are decided at intake and named on its events
    decided = "repairline.intake.WarrantyDecided"
    for ticket, (pack, version) in tickets.items():
        view = await network.view(
            ticket, lambda v: any(t["type"] == decided for t in v["timeline"])
        )
        intake_entries = [t for t in view["timeline"] if t["source"] == "/intake"]
        assert intake_entries and all(
            t["policy"] == {"pack": pack, "version": version} for t in intake_entries
        ), [(t["type"], t["policy"]) for t in intake_entries]

    # DSP-3: water-heater promises a visit within 24 hours in a central city where it has
    # an outlet; pc-depot promises no on-site visit time
    deadlines = await visit_deadlines(network, list(tickets))
    day = timedelta(hours=24)
    for ticket, at in ((heater_before, opened), (heater_after, reopened)):  # requested then
        assert timedelta(0) <= utc(deadlines[ticket]) - (at + day) < timedelta(minutes=1)
    assert deadlines[notebook_before] is None and deadlines[notebook_after] is None

    # FEE-1: each ticket priced by its own pack, the heater by the version it was opened under
    fees = {t: (await quote_and_complete(network, t)) for t in tickets}
    assert fees[heater_before]["total_fen"] == OLD_FEE
    assert fees[heater_before]["decision"]["pack_version"] == "2026.1"
    assert fees[heater_after]["total_fen"] == NEW_FEE
    assert fees[heater_after]["decision"]["pack_version"] == "2026.11"
    assert fees[notebook_before]["total_fen"] == fees[notebook_after]["total_fen"] == PC_FEE
    assert fees[notebook_before]["decision"]["pack_id"] == "pc-depot"

    # FBK-2: water-heater calls back at the next morning's opening, pc-depot at 10:00
    for ticket, (pack, _) in tickets.items():
        due = (await callback_due(network, ticket)).astimezone(network.zone)
        assert (due.hour, due.minute) == ((8, 30) if pack == "water-heater" else (10, 0))

    # the packs as integrators read them: the versions, and the FEE-1 table with its rule
    listed = network.ok(network.intake, "GET", "/packs")
    [heater] = [p for p in listed["packs"] if p["id"] == "water-heater"]
    assert [v["version"] for v in heater["versions"]] == ["2026.1", "2026.11"]
    assert listed["default"] == "water-heater"
    before = network.ok(network.intake, "GET", f"/packs/water-heater?on={network.day}")
    tariff = before["fees"]["visit_tariff_fen"]["instant_water_heater"]["on_site"]
    assert tariff["municipality"] == {"value": OLD_FEE, "rule": "FEE-1"}
    assert before["calendar"]["business_hours"]["mon"]["value"] == [
        {"start": "08:30", "end": "12:00"},
        {"start": "13:30", "end": "17:30"},
    ]
    assert "2026-10-01" in before["calendar"]["holidays"]["value"]  # National Day
    after = network.ok(network.intake, "GET", "/packs/water-heater")  # in force now
    fee = after["fees"]["visit_tariff_fen"]["instant_water_heater"]["on_site"]["municipality"]
    assert (after["version"], fee["value"]) == ("2026.11", NEW_FEE)

    # replay from offset 0 reproduces both packs' and both versions' decisions
    rows = await network.replay_equals_live()
    assert rows, "no projection compared"
