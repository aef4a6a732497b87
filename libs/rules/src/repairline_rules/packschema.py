"""Generate ``docs/schemas/policy-pack.schema.json``: the JSON Schema of a pack file.

``python -m repairline_rules.packschema`` writes the file; ``--check`` exits 1 when the
file on disk differs from what the models would generate.

The schema is the pack models' (``PolicyPack``), with ``[[versions]]``: each entry is
``version``, ``effective_from``, optional ``open_tickets``, and any part of the pack's
sections (every field optional: a later version gives only what changes, deep-merged
over the version before; a list is given whole). A fee per city tier may be one number
(the same fee in every tier), as the files write it.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

from repairline_rules.generated import write_or_check
from repairline_rules.packs import PolicyPack

REGENERATE = "python -m repairline_rules.packschema"

SCHEMA_ID = "repairline.policy-pack"
_SECTIONS = (
    "calendar",
    "warranty",
    "guarantees",
    "fees",
    "dispatch",
    "penalties",
    "followup",
    "assessment",
)
_VERSION_KEYS = ("version", "effective_from", "open_tickets")
_FLAT_FEES = {"TierFees"}  # a number stands for the same fee in every tier


def schema() -> dict[str, Any]:
    """The pack file's JSON Schema (draft 2020-12)."""
    full = _flat_fees(PolicyPack.model_json_schema(mode="validation"))
    defs: dict[str, Any] = full.pop("$defs")
    changes = {f"{name}Change": _optional(definition) for name, definition in defs.items()}
    full["properties"]["versions"] = {
        "type": "array",
        "description": "Later versions, oldest first, each effective from a later date.",
        "items": {"$ref": "#/$defs/PackVersion"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **full,
        "$defs": {**defs, **changes, "PackVersion": _version_entry(full)},
    }


def _version_entry(full: dict[str, Any]) -> dict[str, Any]:
    props = full["properties"]
    properties = {key: props[key] for key in _VERSION_KEYS}
    for section in _SECTIONS:
        properties[section] = _optional(copy.deepcopy(props[section]))
    return {
        "title": "PackVersion",
        "type": "object",
        "description": "A later version: its label, the day it takes effect, the sections"
        " that also apply to tickets opened before it, and only the values that change.",
        "additionalProperties": False,
        "required": ["version", "effective_from"],
        "properties": properties,
    }


def _optional(node: Any) -> Any:
    """``node`` with nothing required and every reference to a ``...Change`` definition."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "required" and isinstance(value, list):
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = f"{value}Change"
            else:
                out[key] = _optional(value)
        return out
    if isinstance(node, list):
        return [_optional(item) for item in node]
    return node


def _flat_fees(node: Any) -> Any:
    """``node`` where a tier fee table is referenced also allowing one non-negative number."""
    if isinstance(node, dict):
        if node.get("$ref", "").split("/")[-1] in _FLAT_FEES:
            flat = {"type": "integer", "minimum": 0, "description": "The fee in every tier."}
            return {"anyOf": [flat, {"$ref": node["$ref"]}]}
        return {key: _flat_fees(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_flat_fees(item) for item in node]
    return node


def rendered() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def default_path() -> Path:
    """``docs/schemas/policy-pack.schema.json`` at the project root."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "libs" / "rules").is_dir() and (parent / "docs").is_dir():
            return parent / "docs" / "schemas" / "policy-pack.schema.json"
    return Path.cwd() / "docs" / "schemas" / "policy-pack.schema.json"


def main(argv: list[str] | None = None) -> int:
    """Write the schema, or with ``--check`` report whether the file drifted."""
    parser = argparse.ArgumentParser(prog="python -m repairline_rules.packschema")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file drifted")
    parser.add_argument("--output", type=Path, default=None, help=f"default: {default_path()}")
    args = parser.parse_args(argv)
    path = args.output or default_path()
    return write_or_check(
        path, rendered(), check=args.check, regenerate="python -m repairline_rules.packschema"
    )


if __name__ == "__main__":
    raise SystemExit(main())
