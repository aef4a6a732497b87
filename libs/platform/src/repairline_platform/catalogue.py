"""The event catalogue as every service serves it: the AsyncAPI document and a page that
renders it without anything from outside (no script, no stylesheet from a CDN)."""

from __future__ import annotations

import functools
import json
from html import escape
from typing import Any

from repairline_contracts.asyncapi import document as asyncapi_document

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2.5rem}code{background:#f3f3f3;padding:0 .2em}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ddd;
padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f6f6f6}
details{margin:.4rem 0}summary{cursor:pointer}.personal{color:#a00;font-weight:600}
"""


@functools.cache
def document() -> dict[str, Any]:
    return asyncapi_document()


@functools.cache
def page() -> str:
    doc = document()
    schemas = doc["components"]["schemas"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{escape(doc['info']['title'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(doc['info']['title'])}</h1><p>{escape(doc['info']['description'])}</p>",
        "<p>Machine-readable: <a href='asyncapi.json'>asyncapi.json</a> (AsyncAPI "
        f"{escape(doc['asyncapi'])}).</p>",
        "<h2>CloudEvents envelope</h2>",
        _fields(schemas["Envelope"], schemas),
    ]
    messages = doc["components"]["messages"]
    for channel in doc["channels"].values():
        parts.append(f"<h2><code>{escape(channel['address'])}</code></h2>")
        parts.append(f"<p>{escape(channel['description'])}</p>")
        for ref in channel.get("messages", {}).values():
            parts.append(_message(messages[ref["$ref"].rsplit("/", 1)[1]], schemas))
    parts.append("</body></html>")
    return "\n".join(parts)


def _message(message: dict[str, Any], schemas: dict[str, Any]) -> str:
    data_ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
    return (
        f"<details><summary><code>{escape(message['name'])}</code>"
        f" v{message['x-schema-version']}: {escape(message['summary'])}</summary>"
        f"{_fields(_resolve(data_ref, schemas), schemas)}</details>"
    )


def _fields(schema: dict[str, Any], schemas: dict[str, Any]) -> str:
    required = set(schema.get("required", ()))
    rows = ["<table><tr><th>field</th><th>type</th><th>description</th></tr>"]
    for name, prop in schema.get("properties", {}).items():
        flags = [] if name in required else ["optional"]
        if prop.get("x-personal"):
            flags.append("<span class='personal'>personal</span>")
        rows.append(
            f"<tr><td><code>{escape(name)}</code> {' '.join(flags)}</td>"
            f"<td>{escape(_type(prop))}</td>"
            f"<td>{escape(prop.get('description', ''))}{_nested(prop, schemas)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _nested(prop: dict[str, Any], schemas: dict[str, Any]) -> str:
    refs = [r for r in _refs(prop) if "properties" in schemas[r.rsplit("/", 1)[1]]]
    return "".join(
        f"<details><summary>{escape(r.rsplit('/', 1)[1])}</summary>"
        f"{_fields(_resolve(r, schemas), schemas)}</details>"
        for r in refs
    )


def _refs(prop: dict[str, Any]) -> list[str]:
    text = json.dumps(prop)
    return sorted(set(part.split('"')[0] for part in text.split('"$ref": "')[1:]))


def _resolve(ref: str, schemas: dict[str, Any]) -> dict[str, Any]:
    return schemas[ref.rsplit("/", 1)[1]]


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[1]
    if "anyOf" in prop:
        return " | ".join(_type(p) for p in prop["anyOf"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    return f"{kind} ({prop['format']})" if "format" in prop else str(kind)
