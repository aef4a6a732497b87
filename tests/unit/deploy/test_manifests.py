"""Every overlay renders and validates offline; the renderer does what Kustomize does."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy import manifests
from deploy.manifests import K8S, ManifestError, render, validate

OVERLAYS = manifests.overlays()
REGIONS = [o for o in OVERLAYS if o.name != "head-office"]


@pytest.fixture(scope="module")
def crds() -> dict[Any, Any]:
    return manifests.load_crd_schemas()


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {o.name: render(o) for o in OVERLAYS}


def test_there_are_three_regions_and_the_head_office() -> None:
    assert [o.name for o in OVERLAYS] == ["cn-east", "cn-north", "cn-south", "head-office"]


def test_every_overlay_validates_against_kubernetes_and_the_crds(rendered, crds) -> None:
    for name, resources in rendered.items():
        assert validate(resources, crds) == [], name


def test_the_crds_kept_are_the_targeted_operator_versions(crds) -> None:
    kinds = {(api, kind): s.source for (api, kind), s in crds.items()}
    assert kinds[("kafka.strimzi.io/v1", "Kafka")] == "strimzi-1.2.0"
    assert kinds[("kafka.strimzi.io/v1", "KafkaMirrorMaker2")] == "strimzi-1.2.0"
    assert kinds[("keda.sh/v1alpha1", "ScaledObject")] == "keda-2.20.2"


def find(resources: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict]:
    return [r for r in resources if r["kind"] == kind and name in (None, r["metadata"]["name"])]


def test_a_misspelt_field_in_a_builtin_resource_is_reported(rendered, crds) -> None:
    deployment = copy.deepcopy(find(rendered["cn-east"], "Deployment", "intake")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    problems = validate([deployment], crds)
    assert len(problems) == 1 and "readinesProbe" in problems[0]


def test_a_misspelt_field_in_a_custom_resource_is_reported(rendered, crds) -> None:
    topic = copy.deepcopy(find(rendered["cn-east"], "KafkaTopic")[0])
    topic["spec"]["partition"] = 12
    scaled = copy.deepcopy(find(rendered["cn-east"], "ScaledObject", "intake")[0])
    scaled["spec"]["maxReplicaCount"] = "twelve"
    problems = validate([topic, scaled], crds)
    assert any("'partition' was unexpected" in p for p in problems)
    assert any("maxReplicaCount" in p for p in problems)


# -- the renderer ---------------------------------------------------------------------


def write(directory: Path, files: dict[str, Any]) -> Path:
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return directory


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "intake", "namespace": "repairline"},
    "spec": {
        "selector": {"matchLabels": {"app": "intake"}},
        "template": {
            "metadata": {"labels": {"app": "intake"}},
            "spec": {
                "containers": [
                    {"name": "intake", "image": "repairline", "env": [{"name": "A", "value": "1"}]}
                ]
            },
        },
    },
}


def test_an_overlay_patches_labels_and_retags_its_base(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base/kustomization.yaml": {"resources": ["app.yaml"]},
            "base/app.yaml": DEPLOYMENT,
            "over/kustomization.yaml": {
                "resources": ["../base"],
                "labels": [{"pairs": {"region": "cn-north"}, "includeTemplates": True}],
                "patches": [
                    {
                        "target": {"kind": "Deployment", "name": "intake"},
                        "patch": "- {op: replace, value: '2',"
                        " path: /spec/template/spec/containers/0/env/0/value}\n"
                        "- {op: add, path: /spec/replicas, value: 3}",
                    },
                    {
                        "patch": yaml.safe_dump(
                            {
                                "kind": "Deployment",
                                "metadata": {"name": "intake"},
                                "spec": {
                                    "template": {
                                        "spec": {
                                            "containers": [
                                                {"name": "intake", "args": ["serve"]},
                                                {"name": "sidecar", "image": "proxy"},
                                            ]
                                        }
                                    }
                                },
                            }
                        )
                    },
                ],
                "images": [{"name": "repairline", "newName": "reg/repairline", "newTag": "1.2.3"}],
            },
        },
    )
    (deployment,) = render(tmp_path / "over")
    pod = deployment["spec"]["template"]
    intake, sidecar = pod["spec"]["containers"]
    assert intake["env"] == [{"name": "A", "value": "2"}]
    assert intake["args"] == ["serve"] and intake["image"] == "reg/repairline:1.2.3"
    assert sidecar == {"name": "sidecar", "image": "proxy"}
    assert deployment["spec"]["replicas"] == 3
    assert deployment["metadata"]["labels"] == {"region": "cn-north"}
    assert pod["metadata"]["labels"] == {"app": "intake", "region": "cn-north"}
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "intake"}}  # untouched


def test_a_digest_pins_the_image(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.yaml": DEPLOYMENT,
            "kustomization.yaml": {
                "resources": ["app.yaml"],
                "images": [{"name": "repairline", "digest": "sha256:" + "a" * 64}],
            },
        },
    )
    (deployment,) = render(tmp_path)
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "repairline@sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("kustomization", "problem"),
    [
        ({"resources": ["app.yaml"], "namePrefix": "x-"}, "does not implement"),
        ({"resources": ["app.yaml", "app.yaml"]}, "the same resource twice"),
        (
            {"resources": ["app.yaml"], "patches": [{"target": {"kind": "Job"}, "patch": "[]"}]},
            "matches no resource",
        ),
        (
            {
                "resources": ["app.yaml"],
                "labels": [{"pairs": {"a": "b"}, "includeSelectors": True}],
            },
            "includeSelectors",
        ),
    ],
)
def test_what_the_renderer_cannot_do_faithfully_is_refused(
    tmp_path: Path, kustomization: dict[str, Any], problem: str
) -> None:
    write(tmp_path, {"app.yaml": DEPLOYMENT, "kustomization.yaml": kustomization})
    with pytest.raises(ManifestError, match=problem):
        render(tmp_path)


def test_json6902_remove_and_append() -> None:
    doc = {"a": {"b": [1, 2, 3], "c": 1}}
    manifests.json6902(
        doc, [{"op": "remove", "path": "/a/c"}, {"op": "add", "path": "/a/b/-", "value": 4}]
    )
    assert doc == {"a": {"b": [1, 2, 3, 4]}}
    with pytest.raises(ManifestError):
        manifests.json6902(doc, [{"op": "replace", "path": "/a/missing", "value": 1}])


def test_the_command_validates_every_overlay(capsys: pytest.CaptureFixture[str]) -> None:
    assert manifests.main([]) == 0
    out = capsys.readouterr().out
    assert out.count("valid (Kubernetes 1.34.0") == 4


def test_the_crds_are_not_applied_with_the_services() -> None:
    for overlay in OVERLAYS:
        for resource in render(overlay):
            assert resource["kind"] != "CustomResourceDefinition"
    assert (K8S / "crds" / "README.md").is_file()
