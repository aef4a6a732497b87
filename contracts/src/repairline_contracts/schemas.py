"""Generate the JSON Schema files in `contracts/schemas/` from the models.

python -m repairline_contracts.schemas          # write
python -m repairline_contracts.schemas --check  # exit 1 if the files drifted
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from repairline_contracts.envelope import Envelope
from repairline_contracts.registry import EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def rendered() -> dict[str, str]:
    """File name -> JSON text for every event type and the envelope."""
    files: dict[str, str] = {}
    for cls in EVENT_TYPES:
        schema = cls.model_json_schema(mode="serialization")
        schema["$id"] = f"{cls.event_type}.v{cls.schema_version}"
        schema["x-topic"] = cls.topic
        files[f"{cls.event_type}.v{cls.schema_version}.json"] = (
            json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )
    envelope = Envelope.model_json_schema(mode="serialization")
    envelope["$id"] = "repairline.envelope.cloudevents-1.0"
    files["envelope.json"] = json.dumps(envelope, indent=2, sort_keys=True) + "\n"
    return files


def drift(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing, stale or no longer generated."""
    expected = rendered()
    found = {p.name for p in directory.glob("*.json")} if directory.exists() else set()
    problems = [
        name
        for name, text in expected.items()
        if not (directory / name).exists() or (directory / name).read_text() != text
    ]
    problems += sorted(found - expected.keys())
    return problems


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = drift()
        if stale:
            print("contracts/schemas drifted from the models: " + ", ".join(stale))
            print("run: python -m repairline_contracts.schemas")
            return 1
        return 0
    SCHEMA_DIR.mkdir(exist_ok=True)
    for old in SCHEMA_DIR.glob("*.json"):
        old.unlink()
    for name, text in rendered().items():
        (SCHEMA_DIR / name).write_text(text)
    print(f"wrote {len(rendered())} schemas to {SCHEMA_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
