"""Settings shared by every service, read from REPAIRLINE_* environment variables."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPAIRLINE_", extra="ignore")

    kafka_bootstrap: str = Field(default="127.0.0.1:19092", description="Kafka bootstrap servers.")
    pg_dsn: str = Field(
        default="postgresql://repairline@127.0.0.1:15432",
        description="PostgreSQL server DSN without database; each service appends its own.",
    )
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
    policy_pack: str = Field(default="water-heater", description="Policy pack id or file path.")
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
    relay_batch_size: int = Field(default=500, ge=1)
    relay_idle_seconds: float = Field(default=0.05, gt=0)
    timer_poll_seconds: float = Field(default=0.2, gt=0)
    shutdown_grace_seconds: float = Field(default=15.0, gt=0)

    def dsn_for(self, default_database: str) -> str:
        return f"{self.pg_dsn.rstrip('/')}/{self.database or default_database}"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
