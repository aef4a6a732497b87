"""A service refuses to start on a bad policy pack, before touching anything else."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from repairline_intake.main import SPEC as INTAKE
from repairline_platform.runtime import Runtime
from repairline_platform.settings import ServiceSettings
from repairline_rules import PackError

ROOT = Path(__file__).resolve().parents[3]


def _bad_pack(tmp_path: Path) -> Path:
    text = (ROOT / "libs/rules/src/repairline_rules/packs/water-heater.toml").read_text()
    bad = tmp_path / "broken.toml"
    bad.write_text(text.replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'))
    return bad


async def test_a_bad_pack_fails_the_start_before_any_connection(tmp_path):
    settings = ServiceSettings(
        policy_pack=str(_bad_pack(tmp_path)), pg_dsn="postgresql://x@127.0.0.1:1"
    )
    with pytest.raises(PackError, match="timezone"):
        await Runtime(INTAKE, settings).open_storage()


def test_the_service_command_names_the_file_field_and_problem_and_exits(tmp_path):
    bad = _bad_pack(tmp_path)
    result = subprocess.run(
        [str(ROOT / ".venv/bin/repairline-intake"), "serve"],
        env={**os.environ, "REPAIRLINE_POLICY_PACK": str(bad), "REPAIRLINE_HTTP_PORT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "policy pack rejected" in result.stderr
    assert "broken.toml" in result.stderr and "timezone" in result.stderr
    assert "Mars/Olympus" in result.stderr
    assert "Traceback" not in result.stderr
