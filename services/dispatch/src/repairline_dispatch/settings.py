"""Dispatch's own settings, read from REPAIRLINE_DISPATCH_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DispatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPAIRLINE_DISPATCH_", extra="ignore")

    travel_kmh: float = Field(
        default=30.0, gt=0, description="Speed for straight-line travel times between jobs."
    )
    sla_warning_minutes: int = Field(
        default=120, ge=0, description="How long before a DSP-3 deadline it is 'approaching'."
    )
