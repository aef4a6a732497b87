"""The AsyncAPI event catalogue: generated from the contracts, committed, served."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.testclient import TestClient

from repairline_contracts import asyncapi
from repairline_contracts.registry import EVENT_TYPES
from repairline_contracts.topics import CONTEXT_TOPICS, DEAD_LETTER
from repairline_platform.runtime import ServiceSpec, build_app
from repairline_platform.settings import ServiceSettings


def test_every_topic_event_type_and_version_is_in_the_catalogue() -> None:
    doc = asyncapi.document()
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {*CONTEXT_TOPICS.values(), DEAD_LETTER}
    messages = {m["name"]: m for m in doc["components"]["messages"].values()}
    assert set(messages) == {cls.event_type for cls in EVENT_TYPES}
    for cls in EVENT_TYPES:
        message = messages[cls.event_type]
        assert message["x-schema-version"] == cls.schema_version
        assert message["x-topic"] == cls.topic
        fixed = message["payload"]["allOf"][1]["properties"]
        assert fixed["type"] == {"const": cls.event_type}
    for operation in doc["operations"].values():
        for ref in operation["messages"]:
            _, _, channel, _, name = ref["$ref"].split("/")
            assert name in doc["channels"][channel]["messages"]


def test_every_cloudevents_attribute_and_extension_is_described() -> None:
    envelope = asyncapi.document()["components"]["schemas"]["Envelope"]["properties"]
    for attribute in (
        "id",
        "source",
        "type",
        "time",
        "subject",
        "specversion",
        "region",
        "policypack",
        "policyversion",
        "correlationid",
        "causationid",
        "streamversion",
        "schemaversion",
    ):
        assert attribute in envelope


def test_personal_fields_are_marked() -> None:
    schemas = asyncapi.document()["components"]["schemas"]
    customer = schemas["Customer"]["properties"]
    assert {n for n, p in customer.items() if p.get("x-personal")} == {
        "name",
        "phone",
        "mobile",
        "address",
    }
    assert schemas["RepairCompleted"]["properties"]["signed_by"]["x-personal"]


def test_the_committed_file_has_not_drifted() -> None:
    assert asyncapi.main(["--check"]) == 0


def test_every_service_serves_the_catalogue_and_a_self_contained_page() -> None:
    spec = ServiceSpec(
        name="catalogue-test",
        default_port=0,
        migrations=(),
        handlers=lambda rt: [],
        routes=lambda rt: APIRouter(),
    )
    app = build_app(spec, ServiceSettings())
    paths = app.openapi()["paths"]
    assert "/asyncapi.json" in paths
    assert "text/html" in paths["/asyncapi"]["get"]["responses"]["200"]["content"]
    client = TestClient(app)  # no lifespan: nothing connects
    served = client.get("/asyncapi.json")
    assert served.status_code == 200
    assert served.json() == asyncapi.document()
    page = client.get("/asyncapi")
    assert page.headers["content-type"].startswith("text/html")
    assert "repairline.intake.RepairRequested" in page.text
    assert "personal" in page.text
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page.text)  # nothing from outside
