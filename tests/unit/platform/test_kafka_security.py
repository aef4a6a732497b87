"""The Kafka security settings become the keyword arguments of every client the platform
builds: PLAINTEXT by default, TLS against the cluster's CA, SCRAM over TLS with the
service's user, and the names the manifests set are the names the settings read."""

from __future__ import annotations

import functools
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from faststream.kafka.security import parse_security

from deploy import manifests
from repairline_console.settings import ConsoleSettings
from repairline_contracts.topics import CONTEXT_TOPICS, DEAD_LETTER
from repairline_platform.kafka import (
    KafkaRefusedError,
    KafkaSettingsError,
    broker_security,
    ensure_topics,
    security_options,
)
from repairline_platform.settings import ServiceSettings
from tests.support.system import declared_handlers, spec_of


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key: the CA, and a client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "ca.crt", directory / "ca.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=repairline-test", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def settings(**values: object) -> ServiceSettings:
    return ServiceSettings(**values)  # type: ignore[arg-type]


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    plain = settings()
    assert plain.kafka_security_protocol == "PLAINTEXT"
    assert security_options(plain) == {}
    assert broker_security(plain) is None


def test_sasl_ssl_gives_scram_with_the_services_user_over_verified_tls(certificate) -> None:
    ca, _ = certificate
    options = security_options(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_username="dispatch",
            kafka_sasl_password="s3cret",
            kafka_ca_file=ca,
        )
    )
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "dispatch",
        "sasl_plain_password": "s3cret",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "repairline-test"),),)
    ]


def test_the_password_may_come_from_a_mounted_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-the-secret\n")
    options = security_options(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_username="billing",
            kafka_sasl_password_file=secret,
        )
    )
    assert options["sasl_plain_password"] == "from-the-secret"


def test_the_settings_are_read_from_the_names_the_manifests_set(
    monkeypatch: pytest.MonkeyPatch, certificate
) -> None:
    ca, _ = certificate
    for name, value in {
        "REPAIRLINE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "REPAIRLINE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "REPAIRLINE_KAFKA_SASL_USERNAME": "intake",
        "REPAIRLINE_KAFKA_SASL_PASSWORD": "from-env",
        "REPAIRLINE_KAFKA_CA_FILE": str(ca),
    }.items():
        monkeypatch.setenv(name, value)
    read = ServiceSettings()
    assert "from-env" not in repr(read)  # a password never reaches a log line
    options = security_options(read)
    assert options["sasl_plain_username"] == "intake"
    assert options["sasl_plain_password"] == "from-env"


def test_every_repairline_variable_in_the_manifests_is_a_setting() -> None:
    settings = (*ServiceSettings.model_fields, *ConsoleSettings.model_fields)  # and the console's
    known = {f"REPAIRLINE_{name.upper()}" for name in settings}
    used: set[str] = set()
    for overlay in manifests.overlays():
        for resource in manifests.render(overlay):
            if resource["kind"] == "ConfigMap":
                used |= set(resource.get("data", {}))
            pod = resource.get("spec", {}).get("template", {}).get("spec", {})
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                used |= {e["name"] for e in container.get("env", [])}
    set_by_manifests = {name for name in used if name.startswith("REPAIRLINE_")}
    assert {"REPAIRLINE_KAFKA_SECURITY_PROTOCOL", "REPAIRLINE_KAFKA_SASL_PASSWORD"} <= (
        set_by_manifests
    )
    assert set_by_manifests - known == set()


def test_ssl_presents_a_client_certificate_when_one_is_set(certificate) -> None:
    cert, key = certificate
    options = security_options(
        settings(
            kafka_security_protocol="SSL",
            kafka_ca_file=cert,
            kafka_cert_file=cert,
            kafka_key_file=key,
        )
    )
    assert options["security_protocol"] == "SSL"
    assert "sasl_mechanism" not in options
    assert isinstance(options["ssl_context"], ssl.SSLContext)


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_password": "x"}, "USERNAME"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "intake"}, "PASSWORD"),
        ({"kafka_security_protocol": "SSL", "kafka_cert_file": "/c.crt"}, "KEY_FILE"),
    ],
)
def test_settings_that_do_not_fit_together_stop_the_start(
    values: dict[str, object], missing: str
) -> None:
    with pytest.raises(KafkaSettingsError, match=missing):
        security_options(settings(**values))


def test_the_broker_gets_the_same_settings_as_the_other_clients(certificate) -> None:
    ca, _ = certificate
    for values in (
        {"kafka_security_protocol": "SSL", "kafka_ca_file": ca},
        {
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": "SCRAM-SHA-256",
            "kafka_sasl_username": "feedback",
            "kafka_sasl_password": "pw",
            "kafka_ca_file": ca,
        },
    ):
        s = settings(**values)
        clients, broker = security_options(s), parse_security(broker_security(s))
        clients.pop("ssl_context")
        assert isinstance(broker.pop("ssl_context"), ssl.SSLContext)
        assert broker == clients


def test_the_export_reads_the_same_kafka_credentials_as_the_services(
    certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from repairline_ops.export import ExportSettings

    ca, _ = certificate
    monkeypatch.setenv("REPAIRLINE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("REPAIRLINE_KAFKA_SASL_USERNAME", "analytics")
    monkeypatch.setenv("REPAIRLINE_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("REPAIRLINE_KAFKA_CA_FILE", str(ca))
    options = security_options(ExportSettings())
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_plain_username"] == "analytics"
    assert options["sasl_plain_password"] == "s3cret"


@pytest.mark.parametrize("service", sorted(CONTEXT_TOPICS))
def test_each_service_connects_as_its_own_kafka_user_that_writes_only_its_own_topic(
    service: str,
) -> None:
    consumers = {f"{service}.{h.name}" for h in declared_handlers(spec_of(service))}
    for overlay, resources in rendered_overlays():
        deployment = _named(resources, "Deployment", service)
        if deployment is None:
            continue  # an overlay without the services (the head office)
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["REPAIRLINE_KAFKA_SASL_USERNAME"]["value"] == service
        secret = env["REPAIRLINE_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": service, "key": "password"}  # the user operator's Secret
        user = _named(resources, "KafkaUser", service)
        assert user is not None, f"{overlay.name}: no KafkaUser {service}"
        acls = user["spec"]["authorization"]["acls"]
        written = {a["resource"]["name"] for a in acls if "Write" in a["operations"]}
        assert written == {CONTEXT_TOPICS[service], DEAD_LETTER}
        assert all(a["resource"]["patternType"] == "literal" for a in acls
                   if "Write" in a["operations"])  # fmt: skip
        groups = [a["resource"] for a in acls if a["resource"]["type"] == "group"]
        assert groups == [{"type": "group", "name": f"{service}.", "patternType": "prefix"}]
        assert all(name.startswith(f"{service}.") for name in consumers), consumers


@functools.cache
def rendered_overlays() -> list[tuple[Path, list[dict]]]:
    return [(overlay, manifests.render(overlay)) for overlay in manifests.overlays()]


def _named(resources: list[dict], kind: str, name: str) -> dict | None:
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return found[0] if found else None


async def test_a_broker_that_cannot_be_reached_stops_the_start_with_the_address() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"  # bound, not listening: refused
        with pytest.raises(KafkaRefusedError, match=rf"Kafka at {closed} \(PLAINTEXT\) refused"):
            await ensure_topics(closed, ["repairline.intake.events"], partitions=1, replication=1)
