"""The local scripts know their own Kafka and PostgreSQL processes by resolved paths, so
a checkout reached through a symbolic link neither misses its server nor removes the
pid file of a server that is running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

COMMON = Path(__file__).resolve().parents[3] / "deploy" / "local" / "lib" / "common.sh"


def has_path_arg(pid: int, path: Path) -> bool:
    script = f'source "{COMMON}"; pid_has_path_arg {pid} "{path}"'
    return subprocess.run(["bash", "-c", script], check=False).returncode == 0


def test_a_process_is_known_by_its_argument_through_a_symbolic_link(tmp_path: Path):
    real = tmp_path / "checkout" / ".local"
    (real / "kafka").mkdir(parents=True)
    props = real / "kafka" / "server.properties"
    props.write_text("")
    other = tmp_path / "worktree"
    other.mkdir()
    (other / ".local").symlink_to(real)
    # started from the symlinked checkout, as a second worktree would start the broker
    started = other / ".local" / "kafka" / "server.properties"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", str(started)])
    try:
        assert has_path_arg(proc.pid, props)
        assert has_path_arg(proc.pid, started)
        assert not has_path_arg(proc.pid, tmp_path / "elsewhere" / "server.properties")
    finally:
        proc.kill()
        proc.wait()
    assert not has_path_arg(proc.pid, props)  # gone
