"""The event catalogue: an AsyncAPI 3 document of every topic, event type, schema version
and CloudEvents attribute, generated from the models and committed as
`contracts/asyncapi.json`.

python -m repairline_contracts.asyncapi          # write
python -m repairline_contracts.asyncapi --check  # exit 1 if the file drifted
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from repairline_contracts.base import Event
from repairline_contracts.envelope import Envelope
from repairline_contracts.personal import PERSONAL_FIELDS
from repairline_contracts.registry import EVENT_TYPES
from repairline_contracts.topics import CONTEXT_TOPICS, DEAD_LETTER

FILE = Path(__file__).resolve().parents[2] / "asyncapi.json"
CONTENT_TYPE = "application/cloudevents+json"
REF = "#/components/schemas/{model}"

_CONTEXTS = {
    "intake": "The ticket: requests from every channel, triage, warranty, the three guarantees.",
    "dispatch": "Engineers, appointments and the visit; DSP-3 deadlines; the roster.",
    "billing": "Quotes, charges, penalties, refunds, settlement, allowances, assessments.",
    "feedback": "Callbacks, complaints, surveys and their rewards.",
}


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document, as JSON-ready data."""
    schemas = _schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for context, topic in CONTEXT_TOPICS.items():
        published = [cls for cls in EVENT_TYPES if cls.topic == topic]
        channels[context] = {
            "address": topic,
            "title": f"{context} events",
            "description": _CONTEXTS[context]
            + " Key: the ticket id (or the stream named in the event). 6 partitions,"
            " unlimited retention. The topic name takes the deployment's prefix.",
            "messages": {
                _name(cls): {"$ref": f"#/components/messages/{_name(cls)}"} for cls in published
            },
        }
        operations[f"{context}Publishes"] = {
            "action": "send",
            "title": f"{context} publishes",
            "channel": {"$ref": f"#/channels/{context}"},
            "messages": [
                {"$ref": f"#/channels/{context}/messages/{_name(cls)}"} for cls in published
            ],
        }
        messages.update({_name(cls): _message(cls) for cls in published})
    channels["deadletter"] = {
        "address": DEAD_LETTER,
        "title": "dead letters",
        "description": "Messages a consumer could not read or apply, with their origin (topic,"
        " partition, offset) and the error; type `repairline.platform.DeadLettered`.",
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "repairline events",
            "version": "1.0.0",
            "description": "Every fact the services publish on Kafka, as CloudEvents 1.0"
            " structured JSON. Fields marked `x-personal` are personal data: never logged,"
            " hashed in analytics exports.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:19092",
                "protocol": "kafka",
                "description": "The local broker of `make run` (KRaft, one node).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _name(cls: type[Event]) -> str:
    return cls.event_type.removeprefix("repairline.")


def _message(cls: type[Event]) -> dict[str, Any]:
    doc = " ".join((cls.__doc__ or "").split())
    return {
        "name": cls.event_type,
        "title": cls.__name__,
        "summary": doc,
        "contentType": CONTENT_TYPE,
        "payload": {
            "allOf": [
                {"$ref": REF.format(model="Envelope")},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": cls.event_type},
                        "schemaversion": {"const": cls.schema_version},
                        "data": {"$ref": REF.format(model=cls.__name__)},
                    },
                },
            ]
        },
        "bindings": {"kafka": {"key": {"type": "string", "description": "The ticket id."}}},
        "x-schema-version": cls.schema_version,
        "x-topic": cls.topic,
    }


def _schemas() -> dict[str, Any]:
    models = [*EVENT_TYPES, Envelope]
    _, top = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    schemas: dict[str, Any] = top["$defs"]
    names = {m.__name__ for m in models} | {m.__name__ for m in PERSONAL_FIELDS}
    missing = names - schemas.keys()
    if missing:  # two models of one name would be renamed: the refs above would be wrong
        raise AssertionError(f"models not in the catalogue under their names: {missing}")
    for model, fields in PERSONAL_FIELDS.items():
        for field in fields:
            schemas[model.__name__]["properties"][field]["x-personal"] = True
    return schemas


def rendered() -> str:
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if "--check" in argv:
        if not FILE.exists() or FILE.read_text() != rendered():
            print(
                f"{FILE.name} drifted from the models; run: python -m repairline_contracts.asyncapi"
            )
            return 1
        return 0
    FILE.write_text(rendered())
    print(f"wrote {FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
