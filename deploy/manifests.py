"""Render the Kustomize overlays and validate every resource offline.

    python -m deploy.manifests            # render and validate every overlay, exit 1 on a problem
    python -m deploy.manifests --render deploy/k8s/overlays/cn-east   # print one as YAML

Built-in kinds are validated (strictly: an unknown field is an error) against the
Kubernetes API schemas of KUBERNETES_VERSION shipped by `kubernetes-validate` (its
strict schemas, loaded once per kind); the
Strimzi and KEDA custom resources against the openAPIV3Schema of their CRDs, kept in
`deploy/k8s/crds/<operator>-<version>/`, also strictly.

No kustomize binary is available from the package registries here, so overlays are
rendered by this module, which implements the part of Kustomize the manifests use:
`resources` (files and directories), `patches` (JSON 6902 operation lists and
strategic-merge-style mappings, with a `target` by kind/name), `labels` (pairs on
metadata, optionally on pod templates, never selectors) and `images` (newName, newTag,
digest). Anything else in a kustomization is refused, so a manifest cannot silently
depend on a feature this renderer lacks.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parent / "k8s"
KUBERNETES_VERSION = "1.34.0"
CRD_DIRS = ("strimzi-1.2.0", "keda-2.20.2")
SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "patches", "labels", "images"}
Resource = dict[str, Any]


class ManifestError(Exception):
    """A kustomization this renderer cannot render, or a resource that does not validate."""


# -- rendering ---------------------------------------------------------------------------


def load_documents(path: Path) -> list[Resource]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d]


def render(directory: Path) -> list[Resource]:
    """The resources a kustomization directory builds, as `kustomize build` would."""
    spec = _kustomization(directory)
    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        resources.extend(render(path) if path.is_dir() else load_documents(path))
    for patch in spec.get("patches", []):
        apply_patch(resources, patch, directory)
    for label in spec.get("labels", []):
        apply_labels(resources, label)
    for image in spec.get("images", []):
        apply_image(resources, image)
    check_unique(resources)
    return resources


def _kustomization(directory: Path) -> dict[str, Any]:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise ManifestError(f"{directory}: no kustomization.yaml")
    spec = yaml.safe_load(path.read_text()) or {}
    unknown = set(spec) - SUPPORTED_FIELDS
    if unknown:
        raise ManifestError(f"{path}: fields this renderer does not implement: {sorted(unknown)}")
    return spec


def _matches(resource: Resource, target: dict[str, Any]) -> bool:
    meta = resource.get("metadata", {})
    return all(
        (
            target.get("kind") in (None, resource.get("kind")),
            target.get("name") in (None, meta.get("name")),
            target.get("namespace") in (None, meta.get("namespace")),
        )
    )


def apply_patch(resources: list[Resource], patch: dict[str, Any], directory: Path) -> None:
    body = patch.get("patch")
    if body is None and "path" in patch:
        body = (directory / patch["path"]).read_text()
    if body is None:
        raise ManifestError(f"{directory}: a patch needs `patch` or `path`")
    content = yaml.safe_load(body)
    target = patch.get("target")
    if isinstance(content, dict) and target is None:
        target = {"kind": content.get("kind"), "name": content.get("metadata", {}).get("name")}
    if not target:
        raise ManifestError(f"{directory}: a JSON 6902 patch needs a target")
    hits = [r for r in resources if _matches(r, target)]
    if not hits:
        raise ManifestError(f"{directory}: patch target {target} matches no resource")
    for resource in hits:
        if isinstance(content, list):
            json6902(resource, content)
        else:
            merge(resource, content)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ManifestError(f"not a JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json6902(doc: Resource, operations: Iterable[dict[str, Any]]) -> None:
    """RFC 6902 add, replace and remove (what the overlays use)."""
    for op in operations:
        *parents, last = _pointer(op["path"])
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        kind = op["op"]
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if kind == "add":
                node.insert(index, copy.deepcopy(op["value"]))
            elif kind == "replace":
                node[index] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del node[index]
            else:
                raise ManifestError(f"unsupported JSON 6902 op {kind!r}")
        elif kind in ("add", "replace"):
            if kind == "replace" and last not in node:
                raise ManifestError(f"replace of a missing path {op['path']}")
            node[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del node[last]
        else:
            raise ManifestError(f"unsupported JSON 6902 op {kind!r}")


def merge(base: Any, patch: Any) -> Any:
    """Strategic-merge-style: maps merge, lists of named items merge by name, null deletes."""
    if isinstance(base, dict) and isinstance(patch, dict):
        for key, value in patch.items():
            if value is None:
                base.pop(key, None)
            elif key in base:
                base[key] = merge(base[key], value)
            else:
                base[key] = copy.deepcopy(value)
        return base
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        by_name = {item["name"]: item for item in base}
        for item in patch:
            if item["name"] in by_name:
                merge(by_name[item["name"]], item)
            else:
                base.append(copy.deepcopy(item))
        return base
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return all(isinstance(i, dict) and "name" in i for i in items)


def apply_labels(resources: list[Resource], label: dict[str, Any]) -> None:
    if label.get("includeSelectors"):
        raise ManifestError("labels with includeSelectors are not implemented (selectors are kept)")
    pairs = label.get("pairs", {})
    for resource in resources:
        resource.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        template = resource.get("spec", {}).get("template")
        if label.get("includeTemplates") and isinstance(template, dict):
            template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def _containers(resource: Resource) -> Iterator[dict[str, Any]]:
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def apply_image(resources: list[Resource], image: dict[str, Any]) -> None:
    for resource in resources:
        for container in _containers(resource):
            name, _, _ = container.get("image", "").partition(":")
            if name.split("@")[0] != image["name"]:
                continue
            new = image.get("newName", image["name"])
            if "digest" in image:
                container["image"] = f"{new}@{image['digest']}"
            elif "newTag" in image:
                container["image"] = f"{new}:{image['newTag']}"
            else:
                container["image"] = new


def identity(resource: Resource) -> tuple[str, str, str, str]:
    meta = resource.get("metadata", {})
    group = resource.get("apiVersion", "").rpartition("/")[0]
    return (group, resource.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))


def check_unique(resources: list[Resource]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for resource in resources:
        key = identity(resource)
        if key in seen:
            raise ManifestError(f"the same resource twice: {key}")
        seen.add(key)


# -- validation --------------------------------------------------------------------------


@dataclass(frozen=True)
class CrdSchema:
    group: str
    version: str
    kind: str
    schema: dict[str, Any]
    source: str


def strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused (the API server would silently prune them)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        out.get("type") == "object"  # not the properties-only branches of a oneOf
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def load_crd_schemas(root: Path = K8S / "crds") -> dict[tuple[str, str], CrdSchema]:
    """(apiVersion, kind) -> the served version's schema, for every CRD kept in the repo."""
    found: dict[tuple[str, str], CrdSchema] = {}
    for name in CRD_DIRS:
        for path in sorted((root / name).glob("*.yaml")):
            for crd in load_documents(path):
                spec = crd["spec"]
                for version in spec["versions"]:
                    if not version.get("served", True):
                        continue
                    api = f"{spec['group']}/{version['name']}"
                    schema = strict(version["schema"]["openAPIV3Schema"])
                    # metadata is the API server's; validated as an object only
                    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
                    found[(api, spec["names"]["kind"])] = CrdSchema(
                        spec["group"], version["name"], spec["names"]["kind"], schema, name
                    )
    return found


@functools.cache
def _definitions(kubernetes_version: str) -> Any:
    from referencing import Resource as SchemaResource

    return SchemaResource.from_contents(_schema_file(kubernetes_version, "_definitions.json"))


def _schema_file(kubernetes_version: str, name: str) -> Any:
    """A schema file shipped by kubernetes-validate (its strict variant)."""
    from importlib.resources import files

    directory = files("kubernetes_validate") / "kubernetes-json-schema"
    path = directory / f"v{kubernetes_version}-local-strict" / name
    return json.loads(path.read_text()) if path.is_file() else None


@functools.cache
def builtin_validator(kubernetes_version: str, api_version: str, kind: str) -> Any:
    """The validator kubernetes-validate would build for this kind, built once."""
    import jsonschema
    from referencing import Registry
    from referencing import Resource as SchemaResource

    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = _schema_file(kubernetes_version, f"{kind.lower()}-{api}.json")
    if schema is None:
        return None
    registry = _definitions(kubernetes_version) @ (
        SchemaResource.from_contents(schema) @ Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate(
    resources: Iterable[Resource],
    crds: dict[tuple[str, str], CrdSchema],
    kubernetes_version: str = KUBERNETES_VERSION,
) -> list[str]:
    """Every problem found, one line each (empty when all is valid)."""
    import jsonschema

    problems = []
    for resource in resources:
        where = "/".join(p for p in identity(resource)[1:] if p)
        key = (resource.get("apiVersion", ""), resource.get("kind", ""))
        if key in crds:
            validator, source = jsonschema.Draft7Validator(crds[key].schema), crds[key].source
        else:
            validator = builtin_validator(kubernetes_version, *key)
            source = f"Kubernetes {kubernetes_version}"
        if validator is None:
            problems.append(f"{where}: no schema for {key[0]} {key[1]}")
            continue
        for error in sorted(validator.iter_errors(resource), key=lambda e: list(e.path)):
            path = ".".join(str(p) for p in error.absolute_path) or "<root>"
            problems.append(f"{where}: {path}: {error.message} ({source})")
    return problems


def overlays(root: Path = K8S / "overlays") -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "kustomization.yaml").is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.manifests", description=__doc__)
    parser.add_argument("--render", type=Path, help="print one kustomization's output and exit")
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    args = parser.parse_args(argv)
    if args.render:
        yaml.safe_dump_all(render(args.render), sys.stdout, sort_keys=False)
        return 0
    crds = load_crd_schemas()
    failed = False
    for overlay in overlays():
        try:
            resources = render(overlay)
        except ManifestError as exc:
            print(f"{overlay.name}: not rendered: {exc}")
            failed = True
            continue
        problems = validate(resources, crds, args.kubernetes_version)
        for problem in problems:
            print(f"{overlay.name}: {problem}")
        failed |= bool(problems)
        print(
            f"{overlay.name}: {len(resources)} resources,"
            f" {'INVALID' if problems else 'valid'} (Kubernetes {args.kubernetes_version},"
            f" {', '.join(CRD_DIRS)})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
