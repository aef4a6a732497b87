"""The console's settings, read from REPAIRLINE_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[3]


def _service_url(name: str, port: int) -> str:
    return f"http://127.0.0.1:{os.environ.get(f'REPAIRLINE_{name.upper()}_PORT', port)}"


class ConsoleSettings(BaseSettings):
    """Where the console listens, the four services it calls and how it signs people in."""

    model_config = SettingsConfigDict(env_prefix="REPAIRLINE_", extra="ignore")

    console_host: str = Field(default="127.0.0.1", description="Address the console binds.")
    console_port: int = Field(default=8100, description="Port of http://127.0.0.1:8100/.")
    intake_url: str = Field(default_factory=lambda: _service_url("intake", 8101))
    dispatch_url: str = Field(default_factory=lambda: _service_url("dispatch", 8102))
    billing_url: str = Field(default_factory=lambda: _service_url("billing", 8103))
    feedback_url: str = Field(default_factory=lambda: _service_url("feedback", 8104))
    console_local_signin: bool = Field(
        default=True, description="The workstation's sign-in page, minting local tokens."
    )
    console_auth_dir: Path = Field(
        default=ROOT / ".local" / "auth", description="The local issuer's key directory."
    )
    console_timezone: str = Field(
        default="Asia/Shanghai", description="The network's time zone for dates shown."
    )
    console_poll_seconds: float = Field(
        default=0.5, gt=0, description="How often the live board asks dispatch for changes."
    )
    console_secure_cookies: bool = Field(
        default=False, description="Mark cookies Secure (behind TLS in production)."
    )

    def service_urls(self) -> dict[str, str]:
        return {
            "intake": self.intake_url,
            "dispatch": self.dispatch_url,
            "billing": self.billing_url,
            "feedback": self.feedback_url,
        }
