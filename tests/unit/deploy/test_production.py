"""What a production namespace needs, checked on every region's rendered manifests."""

from __future__ import annotations

import re
from typing import Any

import pytest

from deploy import manifests
from repairline_contracts.topics import ALL_TOPICS, CONTEXT_TOPICS
from repairline_platform.settings import ServiceSettings
from repairline_rules.routing import load_deployment

SERVICES = ("intake", "dispatch", "billing", "feedback")
REGIONS = [o for o in manifests.overlays() if o.name != "head-office"]
Resources = list[dict[str, Any]]


@pytest.fixture(scope="module", params=REGIONS, ids=lambda p: p.name)
def region(request: pytest.FixtureRequest) -> tuple[str, Resources]:
    return request.param.name, manifests.render(request.param)


def one(resources: Resources, kind: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def of_kind(resources: Resources, kind: str) -> Resources:
    return [r for r in resources if r["kind"] == kind]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def consumer_groups(service: str) -> set[str]:
    """The consumer groups the service's runtime subscribes (`<service>.<handler>`)."""
    import importlib

    spec = importlib.import_module(f"repairline_{service}.main").SPEC

    class Runtime:
        name = service
        settings = ServiceSettings()
        packs, routing = load_deployment(settings.policy_pack, settings.policy_packs)

        def pack_now(self, now: object) -> None:
            raise AssertionError("building the handlers decides nothing")

        def topic(self, canonical: str) -> str:
            return canonical

        def unit_of_work(self) -> None:
            raise AssertionError("building the handlers opens no unit of work")

    return {
        f"{service}.{h.name}"
        for h in spec.handlers(Runtime())
        if getattr(h, "subscribed", True)  # a projection applied by a reaction has no group
    }


def test_the_region_is_set_in_the_services_configuration(region) -> None:
    name, resources = region
    config = one(resources, "ConfigMap", "repairline")["data"]
    assert config["REPAIRLINE_REGION"] == name
    assert all(r["metadata"]["labels"]["repairline.io/region"] == name for r in resources)


def test_kafka_runs_kraft_node_pools_with_three_brokers_and_two_in_sync(region) -> None:
    _, resources = region
    kafka = one(resources, "Kafka", "repairline")
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    pools = of_kind(resources, "KafkaNodePool")
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    assert brokers == 3 and controllers == 3
    assert "zookeeper" not in kafka["spec"]


def test_every_topic_is_kept_forever_replicated_and_partitioned(region) -> None:
    _, resources = region
    topics = {t["metadata"]["name"]: t["spec"] for t in of_kind(resources, "KafkaTopic")}
    assert set(topics) == set(ALL_TOPICS)
    for spec in topics.values():
        assert spec["replicas"] == 3 and spec["partitions"] == 12
        assert spec["config"]["retention.ms"] == -1
        assert spec["config"]["min.insync.replicas"] == 2


def acls(user: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {
        (
            a["resource"]["type"],
            a["resource"].get("name", ""),
            a["resource"].get("patternType", ""),
            op,
        )
        for a in user["spec"]["authorization"]["acls"]
        for op in a["operations"]
    }


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_writes_only_its_own_topic_and_uses_its_own_groups(region, service) -> None:
    _, resources = region
    granted = acls(one(resources, "KafkaUser", service))
    writes = {name for kind, name, _, op in granted if kind == "topic" and op == "Write"}
    assert writes == {CONTEXT_TOPICS[service], "repairline.deadletter"}
    assert ("topic", "repairline.", "prefix", "Read") in granted
    groups = {(name, pattern) for kind, name, pattern, op in granted if kind == "group"}
    assert groups == {(f"{service}.", "prefix")}
    assert all(g.startswith(f"{service}.") for g in consumer_groups(service))


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_scales_on_every_group_lag_up_to_the_partition_count(region, service):
    _, resources = region
    scaled = one(resources, "ScaledObject", service)["spec"]
    assert scaled["scaleTargetRef"]["name"] == service
    partitions = {t["spec"]["partitions"] for t in of_kind(resources, "KafkaTopic")}
    assert scaled["maxReplicaCount"] == max(partitions)
    watched = {t["metadata"]["consumerGroup"] for t in scaled["triggers"]}
    assert watched == consumer_groups(service)
    assert all(t["type"] == "kafka" for t in scaled["triggers"])
    assert scaled["minReplicaCount"] >= 2  # the disruption budget keeps one of two


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_budget_a_network_policy_probes_and_resources(region, service):
    _, resources = region
    deployment = one(resources, "Deployment", service)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(one(resources, "PodDisruptionBudget", service)["spec"]["selector"], labels)
    policy = one(resources, "NetworkPolicy", service)["spec"]
    assert selects(policy["podSelector"], labels)
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "startupProbe" in container
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_a_service_reaches_kafka_its_own_database_and_dns_only(region) -> None:
    _, resources = region
    for service in SERVICES:
        egress = one(resources, "NetworkPolicy", service)["spec"]["egress"]
        databases = [
            peer["podSelector"]["matchLabels"]["repairline.io/database"]
            for rule in egress
            for peer in rule["to"]
            if "repairline.io/database" in peer.get("podSelector", {}).get("matchLabels", {})
        ]
        assert databases == [service]
        assert all(rule.get("ports") for rule in egress)  # no rule opens every port
    one(resources, "NetworkPolicy", "default-deny")


SECRET_NAMES = re.compile(r"DSN|PASSWORD|SECRET|TOKEN", re.IGNORECASE)


def test_secrets_are_referenced_never_written_in_the_manifests(region) -> None:
    _, resources = region
    assert of_kind(resources, "Secret") == []
    for resource in resources:
        pod = resource.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            for env in container.get("env", []):
                if SECRET_NAMES.search(env["name"]):
                    assert "valueFrom" in env and "value" not in env, env["name"]
    for key, value in one(resources, "ConfigMap", "repairline")["data"].items():
        assert not SECRET_NAMES.search(key)
        assert "@" not in value, key  # no credentials in a URL


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_run_once_per_version_before_the_service(region, service) -> None:
    _, resources = region
    image = one(resources, "Deployment", service)["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    tag = image.rpartition(":")[2]
    job = one(resources, "Job", f"{service}-migrate-{tag.replace('.', '-')}")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [f"repairline-{service}", "migrate"]
    assert container["image"] == image


def test_the_head_office_mirrors_every_regions_topics() -> None:
    (head_office,) = [o for o in manifests.overlays() if o.name == "head-office"]
    resources = manifests.render(head_office)
    mm2 = one(resources, "KafkaMirrorMaker2", "regions")["spec"]
    assert {m["source"]["alias"] for m in mm2["mirrors"]} == {r.name for r in REGIONS}
    for mirror in mm2["mirrors"]:
        pattern = re.compile(mirror["topicsPattern"])
        assert all(pattern.fullmatch(t) for t in ALL_TOPICS)
        assert mirror["checkpointConnector"]["config"]["sync.group.offsets.enabled"] == "true"
        assert mirror["source"]["bootstrapServers"].startswith(
            f"kafka.{mirror['source']['alias']}."
        )
    assert of_kind(resources, "Deployment") == []  # no service runs at the head office


# -- the console ---------------------------------------------------------------------------

CONSOLE_NAMESPACE = "repairline-console"


def test_the_console_runs_from_the_services_image_with_probes_a_budget_and_a_policy(region):
    _, resources = region
    deployment = one(resources, "Deployment", "console")
    assert deployment["metadata"]["namespace"] == CONSOLE_NAMESPACE
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    intake = one(resources, "Deployment", "intake")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == intake["image"]  # one image: it carries the built assets
    assert container["args"] == ["repairline-console", "serve"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "startupProbe" in container
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    labels = pod["metadata"]["labels"]
    assert selects(one(resources, "PodDisruptionBudget", "console")["spec"]["selector"], labels)
    service = one(resources, "Service", "console")["spec"]
    assert selects({"matchLabels": service["selector"]}, labels)
    assert service["ports"][0]["targetPort"] == container["ports"][0]["name"]
    port = one(resources, "ConfigMap", "console")["data"]["REPAIRLINE_CONSOLE_PORT"]
    assert int(port) == container["ports"][0]["containerPort"]
    one(resources, "NetworkPolicy", "console-default-deny")


def test_the_console_calls_each_services_service_with_the_services_token_settings(region):
    _, resources = region
    config = one(resources, "ConfigMap", "console")["data"]
    shared = one(resources, "ConfigMap", "repairline")["data"]
    for name in SERVICES:
        service = one(resources, "Service", name)
        assert service["spec"]["ports"][0]["port"] == 80
        url = f"http://{name}.{service['metadata']['namespace']}.svc"
        assert config[f"REPAIRLINE_{name.upper()}_URL"] == url
    for key in ("REPAIRLINE_AUTH_ISSUER", "REPAIRLINE_AUTH_AUDIENCE", "REPAIRLINE_AUTH_JWKS_URL"):
        assert config[key] == shared[key], key
    assert config["REPAIRLINE_CONSOLE_LOCAL_SIGNIN"] == "false"  # no workstation sign-in
    assert config["REPAIRLINE_CONSOLE_SECURE_COOKIES"] == "true"
    for key, value in config.items():
        assert not SECRET_NAMES.search(key) and "@" not in value, key


def test_the_console_reaches_the_four_services_and_each_admits_it(region) -> None:
    _, resources = region
    console = one(resources, "Deployment", "console")
    labels = console["spec"]["template"]["metadata"]["labels"]
    egress = one(resources, "NetworkPolicy", "console")["spec"]["egress"]
    assert all(rule.get("ports") for rule in egress)  # no rule opens every port
    [to_services] = [
        peer
        for rule in egress
        for peer in rule["to"]
        if peer.get("namespaceSelector", {})
        .get("matchLabels", {})
        .get("kubernetes.io/metadata.name")
        == "repairline"
    ]
    [names] = to_services["podSelector"]["matchExpressions"]
    assert set(names["values"]) == set(SERVICES)
    for service in SERVICES:
        admitted = [
            peer
            for rule in one(resources, "NetworkPolicy", service)["spec"]["ingress"]
            for peer in rule["from"]
            if peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            == CONSOLE_NAMESPACE
        ]
        assert len(admitted) == 1 and selects(admitted[0]["podSelector"], labels), service


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_reads_the_pack_mapping_that_loads_against_the_built_in_packs(
    region, service, tmp_path
) -> None:
    _, resources = region
    config = one(resources, "ConfigMap", "repairline")["data"]
    mapping = one(resources, "ConfigMap", "repairline-packs")["data"]["routing.toml"]
    folder, _, file = config["REPAIRLINE_PACK_ROUTING"].rpartition("/")
    assert file == "routing.toml"
    for workload in (
        one(resources, "Deployment", service),
        *(j for j in of_kind(resources, "Job") if j["metadata"]["name"].startswith(service)),
    ):
        pod = workload["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        (container,) = pod["containers"]
        mounted = [m for m in container["volumeMounts"] if m["mountPath"] == folder]
        assert mounted and volumes[mounted[0]["name"]]["configMap"]["name"] == "repairline-packs"
    path = tmp_path / file
    path.write_text(mapping, "utf-8")
    settings = ServiceSettings()
    book, routing = load_deployment(
        config["REPAIRLINE_POLICY_PACK"],
        settings.policy_packs,
        path,
        known_regions=settings.known_regions,
    )
    assert routing.choose(product_line="notebook", region="cn-east") == "pc-depot"
    assert routing.default in book.ids()
