"""docs/operations.md and the Grafana dashboard agree with the metrics the service serves: the
Prometheus configuration parses, there are the five alerts the page promises, and every query
names a metric that exists (a renamed metric would otherwise leave a silent alert)."""

import json
import re

import yaml
from prometheus_client import Counter, Gauge, Histogram

from app.observability import metrics
from tests.conftest import REPO_ROOT

OPERATIONS = REPO_ROOT / "docs" / "operations.md"
DASHBOARD = REPO_ROOT / "docs" / "grafana" / "nexero-dashboard.json"
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
METRIC_NAME = re.compile(r"\bnexero_[a-z_]+")


def served_metric_names() -> set[str]:
    names = set()
    for metric in vars(metrics).values():
        if isinstance(metric, Counter):
            names.add(f"{metric._name}_total")
        elif isinstance(metric, Histogram):
            names |= {f"{metric._name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        elif isinstance(metric, Gauge):
            names.add(metric._name)
    return names


def documented_yaml() -> list[dict]:
    return [yaml.safe_load(block) for block in YAML_BLOCK.findall(OPERATIONS.read_text())]


def alert_rules() -> list[dict]:
    return [
        rule
        for document in documented_yaml()
        for group in document.get("groups", [])
        for rule in group["rules"]
    ]


def test_the_scrape_configuration_sends_a_key_to_metrics() -> None:
    [scrape] = [job for document in documented_yaml() for job in document.get("scrape_configs", [])]

    assert scrape["metrics_path"] == "/metrics"
    assert scrape["authorization"]["type"] == "Bearer"


def test_five_alerts_that_page_each_with_a_query_of_served_metrics() -> None:
    rules = alert_rules()
    served = served_metric_names()

    assert len(rules) == 5
    assert {rule["labels"]["severity"] for rule in rules} == {"page"}
    for rule in rules:
        assert set(METRIC_NAME.findall(rule["expr"])) <= served, rule["alert"]


def test_every_dashboard_query_names_served_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    served = served_metric_names()
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]

    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
    assert queries
    for query in queries:
        assert METRIC_NAME.findall(query), query
        assert set(METRIC_NAME.findall(query)) <= served, query


def test_every_served_metric_is_documented() -> None:
    documented = OPERATIONS.read_text()
    for metric in vars(metrics).values():
        if isinstance(metric, Counter | Gauge | Histogram):
            assert f"`{metric._name}" in documented, metric._name
