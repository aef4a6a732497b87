"""The PostgreSQL TLS and password settings become the keyword arguments of every asyncpg
connection and pool the platform opens: nothing by default, libpq's sslmodes with the
cluster's CA and an optional client certificate, the password from the environment or a
mounted file; settings that do not fit together stop the start, naming the setting."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from repairline_platform.db import PgSettingsError, connect_options
from repairline_platform.runtime import Runtime
from repairline_platform.settings import PgSettings, ServiceSettings
from tests.support.secured import Certificates, make_certificates, missing_parts


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    if missing_parts() == "no openssl":
        pytest.skip("openssl is not installed")
    return make_certificates(tmp_path_factory.mktemp("pg-tls"))


def key_and_cert(tls: Certificates) -> tuple[Path, Path]:
    return tls.server_pem.with_name("server.key"), tls.server_pem.with_name("server.crt")


def options(**values: object) -> dict:
    return connect_options(PgSettings(**values))  # type: ignore[arg-type]


def test_nothing_set_adds_nothing_so_the_dsn_decides_as_before() -> None:
    assert options() == {}


def test_verify_full_checks_the_chain_against_the_ca_and_the_host_name(tls) -> None:
    context = options(pg_sslmode="verify-full", pg_ca_file=tls.ca)["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "repairline-test-ca"),),)
    ]


def test_verify_ca_checks_the_chain_but_not_the_host_name(tls) -> None:
    context = options(pg_sslmode="verify-ca", pg_ca_file=tls.ca)["ssl"]
    assert context.verify_mode == ssl.CERT_REQUIRED and not context.check_hostname


def test_require_encrypts_and_checks_the_chain_only_when_a_ca_is_given(tls) -> None:
    bare = options(pg_sslmode="require")["ssl"]
    assert bare.verify_mode == ssl.CERT_NONE and not bare.check_hostname
    with_ca = options(pg_sslmode="require", pg_ca_file=tls.ca)["ssl"]
    assert with_ca.verify_mode == ssl.CERT_REQUIRED and not with_ca.check_hostname


@pytest.mark.parametrize("mode", ["disable", "prefer"])
def test_the_modes_without_certificates_go_to_asyncpg_as_they_are(mode: str) -> None:
    assert options(pg_sslmode=mode) == {"ssl": mode}


def test_a_client_certificate_is_presented_when_one_is_set(tls) -> None:
    key, cert = key_and_cert(tls)
    context = options(pg_sslmode="verify-full", pg_ca_file=tls.ca, pg_cert_file=cert,
                      pg_key_file=key)["ssl"]  # fmt: skip
    assert isinstance(context, ssl.SSLContext)


def test_the_password_is_read_from_the_environment_and_never_shown(
    monkeypatch: pytest.MonkeyPatch, tls
) -> None:
    monkeypatch.setenv("REPAIRLINE_PG_SSLMODE", "verify-full")
    monkeypatch.setenv("REPAIRLINE_PG_CA_FILE", str(tls.ca))
    monkeypatch.setenv("REPAIRLINE_PG_PASSWORD", "from-the-secret")
    read = ServiceSettings()
    assert "from-the-secret" not in repr(read)
    assert connect_options(read)["password"] == "from-the-secret"


def test_a_password_file_is_read_at_each_new_connection(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("first\n")
    password = options(pg_password_file=secret)["password"]
    assert password() == "first"
    secret.write_text("rotated\n")
    assert password() == "rotated"


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"pg_ca_file": "CA"}, "REPAIRLINE_PG_CA_FILE needs REPAIRLINE_PG_SSLMODE"),
        ({"pg_sslmode": "prefer", "pg_ca_file": "CA"}, "it is prefer"),
        ({"pg_sslmode": "verify-full", "pg_ca_file": "/nowhere/ca.crt"}, "PG_CA_FILE cannot"),
        ({"pg_sslmode": "verify-full", "pg_cert_file": "CERT"}, "PG_KEY_FILE go together"),
        ({"pg_password": "a", "pg_password_file": "/x"}, "not both"),
        ({"pg_password_file": "/nowhere/password"}, "PASSWORD_FILE cannot be read"),
        ({"pg_password_file": "EMPTY"}, "PASSWORD_FILE .* is empty"),
        ({"pg_sslmode": "require", "pg_cert_file": "CA", "pg_key_file": "CA"}, "do not load"),
    ],
)
def test_settings_that_do_not_fit_together_stop_the_start(
    values: dict[str, str], named: str, tls, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    files = {"CA": str(tls.ca), "CERT": str(key_and_cert(tls)[1]), "EMPTY": str(empty)}
    with pytest.raises(PgSettingsError, match=named):
        options(**{name: files.get(value, value) for name, value in values.items()})


async def test_a_service_with_bad_database_settings_stops_before_it_connects(tls) -> None:
    from repairline_intake.main import SPEC

    settings = ServiceSettings(
        pg_dsn="postgresql://nobody@127.0.0.1:1", pg_sslmode="disable", pg_ca_file=tls.ca
    )
    with pytest.raises(PgSettingsError, match="REPAIRLINE_PG_CA_FILE"):
        await Runtime(SPEC, settings).open_storage()
