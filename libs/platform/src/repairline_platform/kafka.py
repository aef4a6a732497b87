"""How the Kafka clients connect, and topic administration."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

if TYPE_CHECKING:
    from faststream.security import BaseSecurity

    from repairline_platform.settings import KafkaSettings

Security = Mapping[str, Any]
"""The security keyword arguments of an aiokafka client ({} for PLAINTEXT)."""


class KafkaSettingsError(ValueError):
    """The Kafka security settings do not fit together; the service does not start."""


class KafkaRefusedError(ConnectionError):
    """No broker could be reached, or the brokers refused this client (a wrong password,
    an untrusted certificate): the message names the address, the user and the reason."""


def security_options(settings: KafkaSettings) -> dict[str, Any]:
    """The keyword arguments every aiokafka producer, consumer and admin client gets.

    PLAINTEXT (the default) adds nothing. SSL checks the brokers' certificates against
    `kafka_ca_file` (the system's CAs when unset) and presents a client certificate when
    `kafka_cert_file` and `kafka_key_file` are set. SASL_SSL adds SCRAM with the service's
    user and its password, read from `kafka_sasl_password` or `kafka_sasl_password_file`.
    """
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol, "ssl_context": _ssl_context(settings)}
    if protocol == "SASL_SSL":
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": _required(settings.kafka_sasl_username, "sasl_username"),
            "sasl_plain_password": _password(settings),
        }
    return options


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    """The same settings for FastStream's KafkaBroker, which takes a security object."""
    from faststream.security import BaseSecurity, SASLScram256, SASLScram512

    options = security_options(settings)
    if not options:
        return None
    if options["security_protocol"] == "SSL":
        return BaseSecurity(ssl_context=options["ssl_context"], use_ssl=True)
    scram = SASLScram512 if options["sasl_mechanism"] == "SCRAM-SHA-512" else SASLScram256
    return scram(
        options["sasl_plain_username"],
        options["sasl_plain_password"],
        ssl_context=options["ssl_context"],
        use_ssl=True,
    )


def _ssl_context(settings: KafkaSettings) -> Any:
    cert, key = settings.kafka_cert_file, settings.kafka_key_file
    if (cert is None) != (key is None):
        raise KafkaSettingsError(
            "REPAIRLINE_KAFKA_CERT_FILE and REPAIRLINE_KAFKA_KEY_FILE go together"
        )
    return create_ssl_context(
        cafile=str(settings.kafka_ca_file) if settings.kafka_ca_file else None,
        certfile=str(cert) if cert else None,
        keyfile=str(key) if key else None,
    )


def _password(settings: KafkaSettings) -> str:
    if settings.kafka_sasl_password is not None:
        return settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_sasl_password_file is not None:
        return settings.kafka_sasl_password_file.read_text().strip()
    raise KafkaSettingsError(
        "SASL_SSL needs REPAIRLINE_KAFKA_SASL_PASSWORD or REPAIRLINE_KAFKA_SASL_PASSWORD_FILE"
    )


def _required(value: str | None, name: str) -> str:
    if not value:
        raise KafkaSettingsError(f"SASL_SSL needs REPAIRLINE_KAFKA_{name.upper()}")
    return value


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int,
    replication: int,
    security: Security | None = None,
) -> list[str]:
    """Create the topics that do not exist yet (unlimited retention); returns those created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="repairline-admin", **(security or {})
    )
    await start_or_explain(admin, bootstrap, security or {})
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            num_partitions=partitions,
                            replication_factor=replication,
                            topic_configs={"retention.ms": "-1", "retention.bytes": "-1"},
                        )
                        for name in missing
                    ]
                )
        return missing
    finally:
        await admin.close()


async def start_or_explain(client: Any, bootstrap: str, security: Security) -> None:
    """Start an aiokafka client; when it cannot bootstrap, raise `KafkaRefusedError` with
    the reason the first broker gives (aiokafka only says it could not bootstrap)."""
    try:
        await client.start()
    except KafkaConnectionError as exc:
        await client.close()
        who = security.get("sasl_plain_username")
        protocol = security.get("security_protocol", "PLAINTEXT")
        raise KafkaRefusedError(
            f"Kafka at {bootstrap} ({protocol}{f', user {who}' if who else ''})"
            f" refused or did not answer: {await _first_refusal(bootstrap, security)}"
        ) from exc


async def _first_refusal(bootstrap: str, security: Security) -> str:
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        conn = await create_conn(host, int(port), request_timeout_ms=10_000, **security)
    except Exception as err:  # the reason is the message, whatever its type
        return str(err) or type(err).__name__
    conn.close()
    return "the broker accepted a connection but gave no cluster metadata"


async def delete_topics(
    bootstrap: str, names: Iterable[str], *, security: Security | None = None
) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="repairline-admin", **(security or {})
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def topic_partitions(
    bootstrap: str, names: Iterable[str], *, security: Security | None = None
) -> list[TopicPartition]:
    """Every partition of the given topics, from the broker's metadata."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="repairline-admin", **(security or {})
    )
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"])
        for t in described
        for p in t.get("partitions", [])
    )
