"""One intake process running two packs on the real Kafka and PostgreSQL: the mapping file
sends laptops and one brand's products to pc-depot and the rest to water-heater, each
ticket's RepairRequested is published naming its pack, and a mapping naming a pack the
deployment does not run stops the start with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repairline_contracts.envelope import Envelope
from repairline_contracts.intake import RepairRequested
from repairline_contracts.topics import INTAKE_EVENTS
from tests.support.factories import request_body
from tests.support.system import ServiceProcess, database_of, drop_database, eventually, read_topic

MAPPING = """
default = "water-heater"

[[routes]]
pack = "pc-depot"
product_lines = ["laptop"]

[[routes]]
pack = "pc-depot"
brands = ["Lenovo"]
"""


def deployment(tmp_path: Path, mapping: str) -> dict[str, str]:
    routing = tmp_path / "routing.toml"
    routing.write_text(mapping)
    return {
        "REPAIRLINE_POLICY_PACK": "water-heater",
        "REPAIRLINE_POLICY_PACKS": json.dumps(["water-heater", "pc-depot"]),
        "REPAIRLINE_PACK_ROUTING": str(routing),
    }


def product(line: str, **extra: Any) -> dict[str, Any]:
    return {**request_body()["product"], "line": line, **extra}


async def requested(prefix: str, count: int) -> dict[str, Envelope]:
    """The RepairRequested envelopes on intake's topic by ticket, once `count` are there."""

    async def published() -> dict[str, Envelope]:
        records = await read_topic(prefix + INTAKE_EVENTS)
        envelopes = [Envelope.from_bytes(r.value) for r in records]
        found = {e.subject: e for e in envelopes if e.type == RepairRequested.event_type}
        return found if len(found) >= count else {}

    return await eventually(published, timeout=60)


async def test_post_tickets_of_two_packs_publish_requests_naming_each_ticket_pack(prefix, tmp_path):
    database = database_of(prefix, "intake")
    env = deployment(tmp_path, MAPPING)
    intake = ServiceProcess("intake", prefix=prefix, database=database, extra_env=env).start()
    try:
        bodies = {
            "water-heater": request_body(),
            "pc-depot": request_body(product=product("laptop")),
            "pc-depot-by-brand": request_body(product=product("desktop", brand=" lenovo ")),
        }
        opened = {}
        for name, body in bodies.items():
            status, answer = intake.request("POST", "/tickets", body)
            assert status == 201, (name, answer)
            opened[name] = answer["ticket_id"]
        status, refused = intake.request("POST", "/tickets", request_body(product=product("fan")))
        assert status == 422, refused
        assert "'water-heater'" in refused["errors"][0]["reason"]

        envelopes = await requested(prefix, len(opened))
        packs = {name: envelopes[ticket_id].policypack for name, ticket_id in opened.items()}
        assert packs == {
            "water-heater": "water-heater",
            "pc-depot": "pc-depot",
            "pc-depot-by-brand": "pc-depot",
        }
        laptop = envelopes[opened["pc-depot"]]
        assert laptop.policyversion == "2026.1"
        assert laptop.data["triage"]["decision"]["pack_id"] == "pc-depot"
        assert envelopes[opened["pc-depot-by-brand"]].data["product"]["brand"] == "lenovo"
    finally:
        intake.terminate()
        await drop_database(database)


async def test_war_3_a_sales_record_answers_the_warranty_of_the_pack_its_line_is_routed_to(
    prefix, tmp_path
):
    database = database_of(prefix, "intake")
    env = deployment(tmp_path, MAPPING)
    intake = ServiceProcess("intake", prefix=prefix, database=database, extra_env=env).start()
    try:
        sale = {"product_line": "laptop", "sold_on": "2026-01-05"}
        status, answer = intake.request("PUT", "/sales-records/SN-LAPTOP-1", sale)
        assert status == 200, answer

        async def record() -> Any:
            status, answer = intake.request("GET", "/sales-records/SN-LAPTOP-1")
            return answer if status == 200 else None

        found = await eventually(record, timeout=30)
        assert found["warranty"]["pack_id"] == "pc-depot"  # water-heater knows no laptops
    finally:
        intake.terminate()
        await drop_database(database)


async def test_a_mapping_naming_a_pack_not_run_stops_the_start_with_the_reason(prefix, tmp_path):
    mapping = 'default = "water-heater"\n\n[[routes]]\npack = "vacuum"\nbrands = ["X"]\n'
    database = database_of(prefix, "intake")
    env = deployment(tmp_path, mapping)
    intake = ServiceProcess("intake", prefix=prefix, database=database, extra_env=env)
    result = intake.run("serve", timeout=60)
    assert result.returncode != 0
    assert "routing.toml" in result.stderr and "routes.0.pack" in result.stderr
    assert "'vacuum' is not loaded" in result.stderr
    assert "Traceback" not in result.stderr
