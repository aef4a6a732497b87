"""A service runs on a PostgreSQL cluster that accepts only TLS connections with a SCRAM
password (`hostssl ... scram-sha-256`, nothing else), checking the server's certificate
against a CA made for this test (`verify-full`) and reading the password from a file.

The ticket is stored over such a connection; a connection without TLS is refused by the
server, and a service with a wrong password does not start and says why."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from repairline_platform.db import connect_options
from repairline_platform.settings import PgSettings
from tests.support.factories import request_body
from tests.support.secured import SecuredPostgres, make_certificates, pg_missing_parts
from tests.support.system import ServiceProcess

PASSWORD = f"pg-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredPostgres]:
    if reason := pg_missing_parts():
        pytest.skip(reason)
    certificates = make_certificates(tmp_path_factory.mktemp("pg-tls"))
    secured = SecuredPostgres(certificates, "repairline", PASSWORD)
    try:
        yield secured.start()
    finally:
        secured.stop()


def client_env(cluster: SecuredPostgres, password_file: Path) -> dict[str, str]:
    return {
        "REPAIRLINE_PG_DSN": cluster.dsn,
        "REPAIRLINE_PG_SSLMODE": "verify-full",
        "REPAIRLINE_PG_CA_FILE": str(cluster.certificates.ca),
        "REPAIRLINE_PG_PASSWORD_FILE": str(password_file),
    }


async def test_a_service_stores_its_tickets_over_tls_with_a_password_from_a_file(
    cluster: SecuredPostgres, prefix: str, tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    env = client_env(cluster, password_file)
    database = f"{prefix.rstrip('.')}_intake"
    intake = ServiceProcess("intake", prefix=prefix, database=database, extra_env=env)
    try:
        intake.start(timeout=90)
        status, created = intake.request("POST", "/tickets", request_body())
        assert status == 201, created
    finally:
        intake.terminate()

    settings = PgSettings(
        pg_dsn=cluster.dsn,
        pg_sslmode="verify-full",
        pg_ca_file=cluster.certificates.ca,
        pg_password_file=password_file,
    )
    conn = await asyncpg.connect(f"{cluster.dsn}/{database}", **connect_options(settings))
    try:
        assert await conn.fetchval("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        stored = await conn.fetchval(
            "select count(*) from events where stream_id = $1", created["ticket_id"]
        )
        assert stored >= 1
    finally:
        await conn.close()

    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        await asyncpg.connect(f"{cluster.dsn}/{database}", password=PASSWORD, ssl="disable")


async def test_a_wrong_password_stops_the_start_with_the_reason(
    cluster: SecuredPostgres, prefix: str, tmp_path: Path
) -> None:
    wrong = tmp_path / "password"
    wrong.write_text("not-the-password\n")
    database = f"{prefix.rstrip('.')}_intake"
    intake = ServiceProcess(
        "intake", prefix=prefix, database=database, extra_env=client_env(cluster, wrong)
    )
    try:
        with pytest.raises(RuntimeError, match="intake exited") as failed:
            intake.start(timeout=90)
    finally:
        intake.terminate()
    assert "InvalidPasswordError: password authentication failed for user" in str(failed.value)
    assert "not-the-password" not in str(failed.value)
