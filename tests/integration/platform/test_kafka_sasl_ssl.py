"""A service runs through a SASL_SSL listener: SCRAM-SHA-512 over TLS checked against a
CA made for this test, on a broker of its own started from the project's Kafka jars.

The ticket's event reaches the topic and is read back by another authenticated client;
a service with a wrong password does not start and says why."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from aiokafka import AIOKafkaConsumer

from repairline_contracts.topics import INTAKE_EVENTS
from repairline_platform.kafka import security_options, topic_partitions
from repairline_platform.settings import ServiceSettings
from tests.support.factories import request_body
from tests.support.secured import SecuredBroker, make_certificates, missing_parts
from tests.support.system import ServiceProcess, drop_database, eventually

USERS = {"intake": f"intake-{uuid.uuid4().hex}", "auditor": f"auditor-{uuid.uuid4().hex}"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    if reason := missing_parts():
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("sasl-ssl")
    secured = SecuredBroker(directory / "kafka", make_certificates(directory / "tls"), USERS)
    secured.start()
    try:
        yield secured
    finally:
        secured.stop()


@pytest.fixture
async def service_on(broker: SecuredBroker) -> AsyncIterator[Callable[[str], ServiceProcess]]:
    """Intake processes on the secured broker as user `intake`, with the given password,
    each on its own topics and database; stopped and dropped afterwards."""
    started: list[ServiceProcess] = []

    def make(password: str) -> ServiceProcess:
        prefix = f"t{uuid.uuid4().hex[:10]}."
        env = broker.client_env("intake", password)
        database = f"{prefix.rstrip('.')}_intake"
        started.append(ServiceProcess("intake", prefix=prefix, database=database, extra_env=env))
        return started[-1]

    yield make
    for service in started:
        service.terminate()
        await drop_database(service.database)


async def read_all(broker: SecuredBroker, topic: str, *, user: str) -> list[dict]:
    settings = ServiceSettings(**_settings_of(broker.client_env(user, USERS[user])))
    security = security_options(settings)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, **security)
    await consumer.start()
    try:
        tps = await topic_partitions(broker.bootstrap, [topic], security=security)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records = []
        while any([await consumer.position(tp) < end[tp] for tp in tps]):
            for batch in (await consumer.getmany(timeout_ms=2000)).values():
                records += [json.loads(r.value) for r in batch]
        return records
    finally:
        await consumer.stop()


def _settings_of(env: dict[str, str]) -> dict[str, str]:
    return {name.removeprefix("REPAIRLINE_").lower(): value for name, value in env.items()}


async def test_a_service_runs_through_sasl_ssl_and_a_wrong_password_is_refused(
    broker: SecuredBroker, service_on: Callable[[str], ServiceProcess]
) -> None:
    """One test, so that the suite's two workers do not start two brokers."""
    intake = service_on(USERS["intake"]).start(timeout=90)
    status, created = intake.request("POST", "/tickets", request_body())
    assert status == 201, created
    ticket = created["ticket_id"]

    async def requested() -> list[dict]:
        topic = intake.env["REPAIRLINE_TOPIC_PREFIX"] + INTAKE_EVENTS
        events = await read_all(broker, topic, user="auditor")
        return [e for e in events if e.get("subject") == ticket]

    events = await eventually(requested, timeout=60, interval=0.5)
    assert events[0]["type"].endswith("RepairRequested")

    with pytest.raises(RuntimeError, match="intake exited") as failed:
        service_on("not-the-password").start(timeout=90)
    reason = str(failed.value)
    assert "KafkaRefusedError" in reason
    assert f"Kafka at {broker.bootstrap} (SASL_SSL, user intake) refused" in reason
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in reason
    assert "not-the-password" not in reason
