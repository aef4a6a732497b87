"""Access on the running services (real Kafka and PostgreSQL): every route of the four
OpenAPIs answers a JSON 401 naming the reason without a valid token, and the void of a
fine names its actor on the event on the topic."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from repairline_contracts.envelope import Envelope
from repairline_contracts.topics import CONTEXT_TOPICS, INTAKE_EVENTS
from repairline_platform.access import PUBLIC_PATHS
from tests.support.auth import bearer, refused_tokens, token
from tests.support.factories import repair_requested
from tests.support.system import (
    ServiceProcess,
    drop_database,
    envelope_bytes,
    eventually,
    produce,
    read_topic,
)

SERVICES = ("intake", "dispatch", "billing", "feedback")
METHODS = ("get", "post", "put", "patch", "delete")


def call(
    service: ServiceProcess, method: str, path: str, value: str, body: Any = None
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps({} if body is None else body).encode() if method != "GET" else None
    headers = {"Content-Type": "application/json", **(bearer(value) if value else {})}
    request = urllib.request.Request(service.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.loads(refused.read() or b"null")


@pytest.fixture
def services(prefix: str) -> Iterator[dict[str, ServiceProcess]]:
    running: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            database = f"{prefix.rstrip('.')}_{name}"
            running[name] = ServiceProcess(name, prefix=prefix, database=database).start()
        yield running
    finally:
        import asyncio

        for service in running.values():
            service.terminate()
            asyncio.run(drop_database(service.database))


def test_every_route_of_the_four_services_answers_401_naming_why(services) -> None:
    refused = refused_tokens()
    walked = 0
    for service in services.values():
        status, _, schema = call(service, "GET", "/openapi.json", "")
        assert status == 200  # the catalogue itself is public
        for path, item in schema["paths"].items():
            if path in PUBLIC_PATHS:
                continue
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            for method in (m for m in item if m in METHODS):
                assert item[method]["security"] == [{"bearer": [item[method]["x-permission"]]}]
                for reason, value in refused.items():
                    status, headers, body = call(service, method.upper(), concrete, value)
                    where = f"{service.name} {method.upper()} {path} ({reason})"
                    assert status == 401, where
                    assert body == {"error": "unauthorized", "detail": reason}, where
                    assert headers["www-authenticate"].startswith("Bearer "), where
                walked += 1
    assert walked > 60


@pytest.fixture
def billing(prefix: str) -> Iterator[ServiceProcess]:
    database = f"{prefix.rstrip('.')}_billing"
    service = ServiceProcess(
        "billing",
        prefix=prefix,
        database=database,
        extra_env={"REPAIRLINE_POLICY_PACK": "software-support"},
    )
    try:
        yield service.start()
    finally:
        import asyncio

        service.terminate()
        asyncio.run(drop_database(database))


async def test_pen_6_the_void_of_a_fine_names_its_actor_on_the_event(billing, prefix) -> None:
    coordinator = token("billing", subject="coord-1")
    tickets = [repair_requested(f"t-{n}-{prefix.rstrip('.')}") for n in range(2)]
    await produce(
        prefix + INTAKE_EVENTS,
        [(t.ticket_id.encode(), envelope_bytes(t, pack="software-support")) for t in tickets],
    )
    for ticket, fine in zip(tickets, (None, 3000), strict=True):
        body = {"ticket_id": ticket.ticket_id, "fine_fen": fine}

        async def recorded_once_billing_has_the_ticket(body=body) -> tuple[int, Any]:
            status, _, answer = call(
                billing, "POST", "/engineers/eng-a1/unreachable", coordinator, body
            )
            return (status, answer) if status != 404 else None  # 404: not caught up yet

        status, recorded = await eventually(recorded_once_billing_has_the_ticket, timeout=60)
        assert status == 201, recorded
    penalty_id = recorded["penalty_id"]
    assert penalty_id.startswith("PEN-6:eng-a1:")

    engineer = token("engineer", subject="eng-a1", engineer_id="eng-a1")
    appeal = {"reason": "my phone was off in the lift"}
    status, _, _ = call(billing, "POST", f"/penalties/{penalty_id}/appeal", engineer, appeal)
    assert status == 200
    ruling = {"void": True, "manager_id": "anyone", "reason": "the lift was out of order"}
    status, _, _ = call(billing, "POST", f"/penalties/{penalty_id}/ruling", engineer, ruling)
    assert status == 403  # an engineer does not rule on his own fine
    manager = token("quality", subject="qm-zhang")
    status, _, voided = call(billing, "POST", f"/penalties/{penalty_id}/ruling", manager, ruling)
    assert status == 200, voided

    async def published() -> list[Envelope]:
        records = await read_topic(prefix + CONTEXT_TOPICS["billing"])
        envelopes = [Envelope.from_bytes(r.value) for r in records]
        return envelopes if any(e.type.endswith("PenaltyVoided") for e in envelopes) else []

    envelopes = await eventually(published, timeout=60)
    [void] = [e for e in envelopes if e.type.endswith("PenaltyVoided")]
    assert (void.actor, void.actorrole) == ("qm-zhang", "quality")
    assert void.data["manager_id"] == "qm-zhang"  # the token's subject, not the body's word
    [appealed] = [e for e in envelopes if e.type.endswith("PenaltyAppealed")]
    assert (appealed.actor, appealed.actorrole) == ("eng-a1", "engineer")
    [assessed] = [e for e in envelopes if e.type.endswith("PenaltyAssessed")]
    assert (assessed.actor, assessed.actorrole) == ("coord-1", "billing")
