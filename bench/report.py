"""One table of the figures `make bench` wrote to .local/bench/ (the last step of the run).

Each row names the figure, the goal of its issue, what this run measured and the file
it came from; a file missing from the run is said so, not skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".local" / "bench"


def _replay(d: dict[str, Any]) -> str:
    ratio = d.get("ratio", d.get("replay_to_raw_ratio"))
    return f"{ratio}x raw ({d.get('events'):,} events)"


def _export(d: dict[str, Any]) -> str:
    return f"{d.get('median_export_to_raw_ratio')}x raw ({d.get('events'):,} events, median)"


def _live(d: dict[str, Any]) -> str:
    cells = []
    for p in d.get("phases", []):
        live, broker = p["live_201_to_assigned_visible"], p["broker_round_trip"]
        cpu = p.get("cpu")
        needs = f", needs {cpu['cores_needed_at_rate']} of {cpu['cores']} cores" if cpu else ""
        cells.append(
            f"{p['rate_sent_per_s']:g}/s: p99 {live['p99_ms']} ms vs broker {broker['p99_ms']} ms"
            f" ({p['p99_ratio']}x{needs})"
        )
    return "; ".join(cells) or "no phase"


def _intake(d: dict[str, Any]) -> str:
    text = f"{d.get('ratio')}x bare FastAPI (median of {len(d.get('runs', []))} runs)"
    if d.get("ratio_ceiling"):
        text += f"; at most {d['ratio_ceiling']}x with intake's decision alone"
    return text


def _dispatch(d: dict[str, Any]) -> str:
    keys = [k for k in d if k not in ("runs", "insertion", "measured_at")]
    return ", ".join(f"{k} {d[k]}" for k in keys[:3])


ROWS: tuple[tuple[str, str, str, Callable[[dict[str, Any]], str]], ...] = (
    ("P1 replay", "at least 0.5x raw", "replay.json", _replay),
    ("export", "at least 0.5x raw", "export.json", _export),
    ("P2 live path", "p99 at most 3x broker + relay poll", "live.json", _live),
    ("P3 intake", "at least 0.8x bare", "intake.json", _intake),
    ("day plans", "see docs/planning.md", "dispatch.json", _dispatch),
)


def table() -> str:
    lines = ["| figure | goal | this run | file |", "|---|---|---|---|"]
    for name, goal, file, summary in ROWS:
        path = OUT / file
        try:
            cell = summary(json.loads(path.read_text()))
        except FileNotFoundError:
            cell = "not measured in this run"
        except (KeyError, TypeError, ValueError) as exc:
            cell = f"unreadable ({type(exc).__name__}: {exc})"
        lines.append(f"| {name} | {goal} | {cell} | .local/bench/{file} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
