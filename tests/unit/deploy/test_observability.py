"""The dashboard and the alert rules read metrics the services really expose."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from deploy.manifests import K8S
from repairline_platform.metrics import ServiceMetrics

DEPLOY = K8S.parent
DOCS = DEPLOY.parent / "docs" / "operations.md"
METRIC = re.compile(r"\b((?:repairline|process)_[a-z_]+)\b")


@dataclass
class Batch:
    applied: int = 1
    duplicates: int = 1
    ignored: int = 1
    dead: int = 1


def exposed() -> set[str]:
    m = ServiceMetrics()
    m.observe_batch("c", 4, 0.1, Batch())
    m.appended(1)
    m.published(1)
    m.dead_lettered("c")
    m.observe_http("GET", "/x", 200, 0.1)
    m.set_lag("c", {("t", 0): 1})
    m.set_calendar_days_left({"p": 30})
    m.scrape_errors.labels("lag").inc()
    return {s.name for family in m.registry.collect() for s in family.samples}


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "repairline.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def test_every_metric_an_alert_or_panel_reads_is_exposed() -> None:
    names = exposed()
    for expr in [r["expr"] for r in alert_rules()] + dashboard_exprs():
        for metric in METRIC.findall(expr):
            assert metric in names, f"{metric} in {expr!r}"


def test_the_alerts_cover_lag_outbox_timers_and_dead_letters() -> None:
    read = " ".join(r["expr"] for r in alert_rules())
    for metric in (
        "repairline_consumer_lag",
        "repairline_outbox_oldest_unpublished_age_seconds",
        "repairline_timer_oldest_overdue_seconds",
        "repairline_dead_letters_total",
    ):
        assert metric in read
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


def test_state_gauges_are_never_summed_across_replicas() -> None:
    # every replica reports the same lag: a sum would multiply it by the replica count
    for expr in [r["expr"] for r in alert_rules()] + dashboard_exprs():
        for gauge in ("repairline_consumer_lag", "repairline_outbox_", "repairline_timer"):
            for use in re.finditer(rf"(\w+) by \([^)]*\) \((?:deriv\()?{gauge}", expr):
                assert use.group(1) in ("max", "topk"), expr


def test_runbook_links_name_sections_of_the_operations_guide() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in DOCS.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in alert_rules():
        runbook = rule["annotations"].get("runbook")
        if runbook:
            assert runbook.split("#")[1] in anchors, runbook


def test_the_dashboard_panels_do_not_overlap() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "repairline.json").read_text())
    cells = set()
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, panel["title"]
                cells.add((x, y))
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
