"""Settings shared by every service, read from REPAIRLINE_* environment variables."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """How a client reaches the brokers: every service, `replay` and `export` read these."""

    model_config = SettingsConfigDict(env_prefix="REPAIRLINE_", extra="ignore")

    kafka_bootstrap: str = Field(default="127.0.0.1:19092", description="Kafka bootstrap servers.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How the Kafka clients connect (TLS, SASL over TLS)."
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = Field(default=None, description="The service's Kafka user.")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="Its password, from a Secret; or `kafka_sasl_password_file`."
    )
    kafka_sasl_password_file: Path | None = Field(
        default=None, description="A file holding the password (a mounted Secret)."
    )
    kafka_ca_file: Path | None = Field(
        default=None, description="CA certificate(s) the brokers' certificates are checked with."
    )
    kafka_cert_file: Path | None = Field(
        default=None, description="Client certificate, for TLS client authentication."
    )
    kafka_key_file: Path | None = Field(default=None, description="The client certificate's key.")


class AuthSettings(BaseSettings):
    """Who issues the bearer tokens the HTTP routes accept: the network's OpenID Connect
    provider in production, the local issuer (`repairline token`) on a workstation."""

    model_config = SettingsConfigDict(env_prefix="REPAIRLINE_", extra="ignore")

    auth_issuer: str | None = Field(default=None, description="The tokens' `iss`, exactly.")
    auth_audience: str | None = Field(default=None, description="The `aud` a token must name.")
    auth_jwks_url: str | None = Field(
        default=None, description="The issuer's JWKS (its `jwks_uri`); or `auth_jwks_file`."
    )
    auth_jwks_file: Path | None = Field(default=None, description="A JWKS file (local issuer).")
    auth_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on `exp`, `nbf` and `iat`."
    )
    auth_jwks_refetch_seconds: float = Field(
        default=30.0,
        gt=0,
        description="At most one new read of the keys in this time (for an unknown key id).",
    )

    @model_validator(mode="after")
    def _one_key_source(self) -> AuthSettings:
        if self.auth_jwks_url and self.auth_jwks_file:
            raise ValueError("set REPAIRLINE_AUTH_JWKS_URL or REPAIRLINE_AUTH_JWKS_FILE, not both")
        return self

    def missing(self) -> list[str]:
        """The settings a service cannot verify tokens without (it refuses to start)."""
        needed = {
            "REPAIRLINE_AUTH_ISSUER": self.auth_issuer,
            "REPAIRLINE_AUTH_AUDIENCE": self.auth_audience,
            "REPAIRLINE_AUTH_JWKS_URL or REPAIRLINE_AUTH_JWKS_FILE": self.auth_jwks_url
            or self.auth_jwks_file,
        }
        return [name for name, value in needed.items() if not value]


class PgSettings(BaseSettings):
    """How a client reaches PostgreSQL: every service, `replay` and the operators' commands
    read these; `repairline_platform.db.connect_options` turns them into asyncpg's."""

    model_config = SettingsConfigDict(env_prefix="REPAIRLINE_", extra="ignore")

    pg_dsn: str = Field(
        default="postgresql://repairline@127.0.0.1:15432",
        description="PostgreSQL server DSN without database; each service appends its own.",
    )
    pg_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] | None = Field(
        default=None,
        description="TLS to PostgreSQL, as libpq's sslmode; unset: the DSN's (else prefer).",
    )
    pg_ca_file: Path | None = Field(
        default=None, description="CA certificate(s) the server's certificate is checked with."
    )
    pg_cert_file: Path | None = Field(
        default=None, description="Client certificate, for TLS client authentication."
    )
    pg_key_file: Path | None = Field(default=None, description="The client certificate's key.")
    pg_password: SecretStr | None = Field(
        default=None, description="The database user's password, from a Secret."
    )
    pg_password_file: Path | None = Field(
        default=None,
        description="A file holding the password (a mounted Secret), read at each new"
        " connection so a rotated password needs no restart.",
    )


class ServiceSettings(KafkaSettings, PgSettings, AuthSettings):
    database: str | None = Field(default=None, description="Database name; default per service.")
    pg_pool_size: int = Field(
        default=24,
        ge=4,
        le=500,
        description="Connections per instance: one per consumer (billing has 11) plus the"
        " relay, timers, housekeeping and HTTP requests.",
    )
    topic_prefix: str = Field(
        default="", description="Namespace prepended to every topic and consumer group."
    )
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, description="HTTP port; default per service.")
    region: str = Field(default="cn-east", description="Region this deployment serves.")
    known_regions: tuple[str, ...] = Field(
        default=("cn-east", "cn-north", "cn-south", "cn-west"),
        min_length=1,
        description="Regions a request may name (tickets, engineers, outlets, day plans).",
    )
    policy_pack: str = Field(
        default="water-heater",
        description="The default policy pack (id or file path): tickets no route of"
        " `pack_routing` matches are decided by it.",
    )
    policy_packs: tuple[str, ...] = Field(
        default=(
            "home-appliance",
            "software-support",
            "pc-depot",
            "water-heater",
            "office-equipment",
        ),
        description="Every policy pack this deployment runs, by built-in id or file path; a"
        " file replaces the built-in pack of its id.",
    )
    pack_routing: str | None = Field(
        default=None,
        description="The mapping file deciding each new ticket's pack from its brand, product"
        " line, contract and region; without one every ticket goes to `policy_pack`.",
    )
    clock: Literal["system", "simulated"] = "system"
    clock_date: date | None = Field(
        default=None,
        description="With the simulated clock: the date it shows on a new database, reached"
        " by shifting wall time by whole days (so every process agrees); default: today.",
    )
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"
    batch_max_records: int = Field(default=500, ge=1)
    batch_timeout_ms: int = Field(default=200, ge=1)
    settle_wait_ms: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description="How long the broker may hold a fetch of a consumer that only confirms"
        " events its projection applied when they were appended (a service's projections"
        " of its own topic); other consumers are sent each record at once.",
    )
    relay_batch_size: int = Field(default=500, ge=1)
    relay_idle_seconds: float = Field(default=0.05, gt=0)
    timer_poll_seconds: float = Field(default=0.2, gt=0)
    shutdown_grace_seconds: float = Field(default=15.0, gt=0)
    rate_limit_per_minute: int = Field(
        default=60,
        ge=1,
        description="Requests a client (token subject) may make per minute on the public"
        " intake routes of the app and web channels.",
    )
    rate_limit_burst: int = Field(
        default=20, ge=1, description="Requests a client may make at once before the limit."
    )

    def dsn_for(self, default_database: str) -> str:
        return f"{self.pg_dsn.rstrip('/')}/{self.database or default_database}"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
