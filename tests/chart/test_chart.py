"""The Helm chart in helm/paymend-streams, rendered by Helm's own engine (helm-python-sdk).

Every scenario (the defaults plus the minimal required values, and each ci/*-values.yaml) is
rendered and each manifest validated against the Kubernetes API schemas (kubernetes-validate,
strict); CRD kinds are checked structurally here. Contract tests tie the chart to the code: the
environment the chart renders is made of settings of `streams.settings`, the schema requires what
the worker requires, and probes and port match the app.
"""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from streams import worker
from streams.settings import ConfigurationError, Secret, Settings, setting_fields
from streams.web import health

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "paymend-streams"
KUBE_VERSION = "1.33.0"
RELEASE = "rel"
NAMESPACE = "payments"
MINIMAL: dict[str, Any] = {
    "config": {"KAFKA_BOOTSTRAP": "kafka:9092"},
    "secrets": {"existingSecret": "paymend-streams"},
}
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject"}
WORKLOAD_KINDS = {"StatefulSet", "Deployment"}

Manifest = dict[str, Any]


def _ci_values() -> dict[str, dict[str, Any]]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted((CHART / "ci").glob("*-values.yaml"))}


CI_VALUES = _ci_values()
SCENARIOS: dict[str, dict[str, Any]] = {"defaults+minimal": MINIMAL, **CI_VALUES}
HINTS = typing.get_type_hints(Settings)
SETTING_ENVS = {env for _, env, _, _ in setting_fields()}
SECRET_ENVS = {env for name, env, _, _ in setting_fields() if Secret in typing.get_args(HINTS[name])}
#: Settings the chart derives from the pod itself (downward API), not from values.
POD_ENVS = {"KAFKA_GROUP_INSTANCE_ID"}
PLAIN_ENVS = SETTING_ENVS - SECRET_ENVS - POD_ENVS


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict[str, Any]) -> list[Manifest]:
    rendered = chart.render(values=copy.deepcopy(values), name=RELEASE, namespace=NAMESPACE)
    docs: list[Manifest] = []
    for path, text in rendered.items():
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def merged(values: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    out = copy.deepcopy(values)
    for dotted, value in overrides.items():
        node = out
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return out


def one(docs: list[Manifest], kind: str) -> Manifest:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"{kind}: {len(found)} rendered"
    return found[0]


def workload(docs: list[Manifest]) -> Manifest:
    found = [d for d in docs if d["kind"] in WORKLOAD_KINDS]
    assert len(found) == 1
    return found[0]


def container(docs: list[Manifest]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload(docs)["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["worker"]
    return containers[0]


def rendered_env(docs: list[Manifest]) -> dict[str, str]:
    """The worker's environment as Kubernetes would build it, secrets replaced by a placeholder."""
    env: dict[str, str] = dict(one(docs, "ConfigMap")["data"])
    for var in container(docs).get("env", []):
        if var["name"] in POD_ENVS:
            assert var["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
            env[var["name"]] = "paymend-streams-0"
            continue
        assert "secretKeyRef" in var["valueFrom"], (
            f"{var['name']}: only secrets and the pod's identity are set outside the ConfigMap"
        )
        env[var["name"]] = "placeholder-secret"
    return env


def secret_refs(docs: list[Manifest]) -> dict[str, dict[str, Any]]:
    return {
        v["name"]: v["valueFrom"]["secretKeyRef"] for v in container(docs)["env"] if v["name"] not in POD_ENVS
    }


def check_crd(doc: Manifest, docs: list[Manifest], values: dict[str, Any]) -> None:
    """What kubernetes-validate cannot check: the CRD-backed kinds, structurally."""
    selector = workload(docs)["spec"]["selector"]["matchLabels"]
    partitions = int(values.get("config", {}).get("TOPIC_PARTITIONS", 8))
    spec = doc["spec"]
    if doc["kind"] == "ServiceMonitor":
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert spec["selector"]["matchLabels"] == selector
        assert spec["endpoints"] == [
            {"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
        ]
    elif doc["kind"] == "PrometheusRule":
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert spec["groups"]
        for group in spec["groups"]:
            assert set(group) <= {"name", "interval", "rules", "limit"}
            assert group["name"]
            assert group["rules"]
            for rule in group["rules"]:
                assert ("record" in rule) != ("alert" in rule)
                assert isinstance(rule["expr"], str)
                assert rule["expr"]
    else:
        assert doc["apiVersion"] == "keda.sh/v1alpha1"
        target = workload(docs)
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": target["kind"],
            "name": target["metadata"]["name"],
        }
        assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions
        [trigger] = spec["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert all(isinstance(v, str) for v in meta.values()), "KEDA trigger metadata values are strings"
        config = one(docs, "ConfigMap")["data"]
        assert meta["bootstrapServers"] == config["KAFKA_BOOTSTRAP"]
        assert meta["consumerGroup"] == config.get("APP_ID", Settings().app_id)


# --- every scenario renders into valid manifests --------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_renders_valid_manifests(chart: helm.Chart, scenario: str) -> None:
    values = SCENARIOS[scenario]
    docs = render(chart, values)
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            check_crd(doc, docs, values)
        else:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        assert doc["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE
    kinds = {d["kind"] for d in docs}
    assert {"ConfigMap", "Service", "ServiceAccount", "Pod"} <= kinds  # Pod: the helm test
    if values.get("autoscaling", {}).get("hpa", {}).get("enabled") or values.get("keda", {}).get("enabled"):
        assert "replicas" not in workload(docs)["spec"], "the autoscaler owns the replica count"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_helm_lint_is_clean(scenario: str) -> None:
    report = helm.lint(
        CHART, copy.deepcopy(SCENARIOS[scenario]), strict=True, kube_version=f"v{KUBE_VERSION}"
    )
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_all_optional_scenario_enables_every_optional_object(chart: helm.Chart) -> None:
    kinds = {d["kind"] for d in render(chart, CI_VALUES["all-optional-values.yaml"])}
    assert {
        "Ingress",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
        "NetworkPolicy",
        "ScaledObject",
    } <= kinds
    assert {d["kind"] for d in render(chart, CI_VALUES["hpa-values.yaml"])} >= {"HorizontalPodAutoscaler"}


def test_optional_objects_are_off_by_default(chart: helm.Chart) -> None:
    kinds = {d["kind"] for d in render(chart, MINIMAL)}
    optional = {"Ingress", "NetworkPolicy", "HorizontalPodAutoscaler", "Secret", "PodDisruptionBudget"}
    assert not kinds & (CRD_KINDS | optional)
    assert {"StatefulSet", "Service", "ConfigMap"} <= kinds


# --- failures the chart reports ---------------------------------------------------------------------


def test_both_autoscalers_fail_clearly(chart: helm.Chart) -> None:
    values = merged(MINIMAL, autoscaling__hpa__enabled=True, keda__enabled=True)
    with pytest.raises(helm.HelmRenderError, match="choose one autoscaler"):
        render(chart, values)


@pytest.mark.parametrize(
    ("key", "maximum"), [("autoscaling__hpa", "maxReplicas"), ("keda", "maxReplicaCount")]
)
def test_autoscalers_are_capped_at_the_partition_count(chart: helm.Chart, key: str, maximum: str) -> None:
    default_partitions = Settings().topic_partitions
    at_cap = merged(MINIMAL, **{f"{key}__enabled": True, f"{key}__{maximum}": default_partitions})
    render(chart, at_cap)
    over = merged(at_cap, **{f"{key}__{maximum}": default_partitions + 1})
    with pytest.raises(helm.HelmRenderError, match="exceeds TOPIC_PARTITIONS"):
        render(chart, over)
    render(chart, merged(over, config__TOPIC_PARTITIONS=default_partitions + 1))


def test_ingress_without_tls_fails(chart: helm.Chart) -> None:
    values = merged(MINIMAL, ingress__enabled=True, ingress__host="hooks.example.com")
    with pytest.raises(helm.HelmRenderError, match=r"ingress\.tls"):
        render(chart, values)


def test_network_policy_without_cidrs_fails(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match=r"egress\.kafka\.cidrs"):
        render(chart, merged(MINIMAL, networkPolicy__enabled=True))


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"replicaCount": "two"}, "/replicaCount"),
        ({"replicas": 2}, "additional properties 'replicas'"),
        ({"config__WEB_PORT": 8080}, "additional properties 'WEB_PORT'"),  # faust's, not ours
        ({"config__TOPIC_PARTITIONS": "8"}, "/config/TOPIC_PARTITIONS"),
        ({"config__PAYMEND_API_TOKEN": "x"}, "additional properties 'PAYMEND_API_TOKEN'"),  # secrets only
        ({"workload__kind": "DaemonSet"}, "/workload/kind"),
        ({"secrets__keys__apiToken": "x"}, "additional properties 'apiToken'"),
    ],
)
def test_schema_rejects_bad_values(chart: helm.Chart, override: dict[str, Any], problem: str) -> None:
    values = merged(MINIMAL, **override)
    with pytest.raises(helm.HelmValuesError) as caught:
        chart.validate_schema(values)
    assert problem in str(caught.value)
    with pytest.raises(helm.HelmValuesError):
        render(chart, values)


# --- secrets ---------------------------------------------------------------------------------------


def test_values_yaml_holds_no_secret_values() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert defaults["secrets"]["create"] is False
    assert set(defaults["secrets"]["values"].values()) == {""}


def test_chart_managed_secret(chart: helm.Chart) -> None:
    values = merged(MINIMAL, secrets={"create": True, "values": {"paymendApiToken": "tok"}})
    docs = render(chart, values)
    secret = one(docs, "Secret")
    assert secret["data"] == {"PAYMEND_API_TOKEN": "dG9r"}
    refs = secret_refs(docs)
    assert refs["PAYMEND_API_TOKEN"] == {
        "name": secret["metadata"]["name"],
        "key": "PAYMEND_API_TOKEN",
        "optional": False,
    }
    assert all(ref["optional"] for env, ref in refs.items() if env != "PAYMEND_API_TOKEN")
    annotations = workload(docs)["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/secret" in annotations


def test_existing_secret_key_mapping(chart: helm.Chart) -> None:
    values = CI_VALUES["existing-secret-values.yaml"]
    refs = secret_refs(render(chart, values))
    assert {env: ref["key"] for env, ref in refs.items()} == {
        "PAYMEND_API_TOKEN": "api-token",
        "KAFKA_SASL_PASSWORD": "kafka-password",
        "WEBHOOK_TOKEN": "webhook-token",
        "WEBHOOK_HMAC_SECRETS": "webhook-hmac-keys",
    }
    assert {ref["name"] for ref in refs.values()} == {"paymend-streams-credentials"}
    assert not [d for d in render(chart, values) if d["kind"] == "Secret"]
    # an empty key leaves that setting unset
    fewer = merged(values, secrets__keys__webhookToken="")
    assert "WEBHOOK_TOKEN" not in {v["name"] for v in container(render(chart, fewer))["env"]}


# --- contracts with the code ------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendered_environment_is_made_of_settings(chart: helm.Chart, scenario: str) -> None:
    values = SCENARIOS[scenario]
    docs = render(chart, values)
    configmap = one(docs, "ConfigMap")["data"]
    env_names = {v["name"] for v in container(docs).get("env", [])}
    assert set(configmap) <= PLAIN_ENVS, set(configmap) - PLAIN_ENVS
    assert env_names <= SECRET_ENVS | POD_ENVS, env_names - SECRET_ENVS - POD_ENVS
    assert "PAYMEND_API_TOKEN" in env_names
    # the worker accepts what the chart renders, and reads back what was configured
    settings = Settings.from_env(rendered_env(docs))
    settings.require_kafka_bootstrap()
    settings.require_paymend_token()
    for _, env, _, _ in setting_fields():
        if env in values.get("config", {}):
            field = next(name for name, e, _, _ in setting_fields() if e == env)
            assert getattr(settings, field) == values["config"][env], env


def test_schema_config_covers_every_non_secret_setting(chart: helm.Chart) -> None:
    schema = chart.schema
    assert schema is not None
    config_props = schema["properties"]["config"]["properties"]
    assert set(config_props) == PLAIN_ENVS
    json_type = {bool: "boolean", int: "integer", float: "number", str: "string"}
    for name, env, _, _ in setting_fields():
        if env in PLAIN_ENVS:
            assert config_props[env]["type"] == json_type[HINTS[name]], env
    assert set(CI_VALUES["all-optional-values.yaml"]["config"]) == PLAIN_ENVS
    secret_keys = schema["properties"]["secrets"]["properties"]["keys"]["properties"]
    everything = merged(MINIMAL, secrets__keys={k: f"key-{k}" for k in secret_keys})
    assert set(secret_refs(render(chart, everything))) == SECRET_ENVS


def test_a_statefulset_pod_is_a_static_group_member_and_a_deployment_pod_is_not(chart: helm.Chart) -> None:
    stateful = {v["name"]: v for v in container(render(chart, MINIMAL))["env"]}
    assert stateful["KAFKA_GROUP_INSTANCE_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    stateless = {v["name"] for v in container(render(chart, CI_VALUES["stateless-values.yaml"]))["env"]}
    assert "KAFKA_GROUP_INSTANCE_ID" not in stateless
    dynamic = merged(MINIMAL, workload__staticMembership=False)
    assert "KAFKA_GROUP_INSTANCE_ID" not in {v["name"] for v in container(render(chart, dynamic))["env"]}


def _required_by_worker() -> set[str]:
    """Settings without a default that the worker refuses to start without (`require_*`)."""
    source = inspect.getsource(worker.main)
    checks = [m for m in dir(Settings) if m.startswith("require_")]
    assert checks
    assert all(f"settings.{m}()" in source for m in checks)
    required = set()
    for name, env, _, default in setting_fields():
        if default not in (None, ""):
            continue
        for check in checks:
            with pytest.raises(ConfigurationError):
                getattr(Settings(), check)()
            value: Any = Secret("x") if env in SECRET_ENVS else "x"
            try:
                getattr(Settings(**{name: value}), check)()
            except ConfigurationError:
                continue
            required.add(env)
    return required


def test_settings_the_worker_requires_are_required_by_the_schema(chart: helm.Chart) -> None:
    required = _required_by_worker()
    assert required == {"KAFKA_BOOTSTRAP", "PAYMEND_API_TOKEN"}
    chart.validate_schema(MINIMAL)
    for env in required - SECRET_ENVS:
        for missing in (merged(MINIMAL, config={}), merged(MINIMAL, **{f"config__{env}": ""})):
            with pytest.raises(helm.HelmValuesError, match=f"/config/{env}|'{env}'"):
                chart.validate_schema(missing)
    assert required & SECRET_ENVS == {"PAYMEND_API_TOKEN"}
    for no_token in (
        merged(MINIMAL, secrets={}),  # neither an existing Secret nor a chart-managed one
        merged(MINIMAL, secrets={"create": True}),  # chart-managed, token missing
        merged(MINIMAL, secrets__keys__paymendApiToken=""),  # no key for it
    ):
        with pytest.raises(helm.HelmValuesError):
            chart.validate_schema(no_token)


def test_probes_and_port_match_the_app(chart: helm.Chart) -> None:
    source = inspect.getsource(health.register_health_views)
    assert 'app.page("/live"' in source
    assert 'app.page("/ready"' in source
    defaults = Settings()
    for values, port, path in [
        (MINIMAL, defaults.worker_web_port, defaults.webhook_path),
        (CI_VALUES["all-optional-values.yaml"], 8080, "/hooks/paymend"),
    ]:
        docs = render(chart, values)
        worker_container = container(docs)
        assert worker_container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert worker_container["startupProbe"]["httpGet"] == {"path": "/live", "port": "http"}
        assert worker_container["livenessProbe"]["httpGet"] == {"path": "/live", "port": "http"}
        assert worker_container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        services = [d for d in docs if d["kind"] == "Service"]
        assert all(s["spec"]["ports"][0]["targetPort"] == "http" for s in services)
        assert all(s["spec"]["ports"][0]["name"] == "http" for s in services)
        ingresses = [d for d in docs if d["kind"] == "Ingress"]
        for ingress in ingresses:
            [rule] = ingress["spec"]["rules"]
            assert [p["path"] for p in rule["http"]["paths"]] == [path]
            assert ingress["spec"]["tls"]
    readiness = container(render(chart, MINIMAL))["readinessProbe"]
    assert readiness["periodSeconds"] * readiness["failureThreshold"] >= 30, "must outlast a rebalance"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pod_is_hardened(chart: helm.Chart, scenario: str) -> None:
    docs = render(chart, SCENARIOS[scenario])
    pod = workload(docs)["spec"]["template"]["spec"]
    assert pod["enableServiceLinks"] is False
    assert pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] == 45
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    ctx = container(docs)["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["name"]: m["mountPath"] for m in container(docs)["volumeMounts"]}
    assert mounts["tmp"] == "/tmp"
    assert mounts["data"] == one(docs, "ConfigMap")["data"]["WORKER_DATA_DIR"]
    test_pod = one(docs, "Pod")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert test_pod["spec"]["containers"][0]["args"][-1].endswith("/ready")


def test_workload_kinds(chart: helm.Chart) -> None:
    stateful = render(chart, CI_VALUES["stateful-values.yaml"])
    sts = one(stateful, "StatefulSet")
    assert sts["spec"]["replicas"] == 2
    assert [c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]] == ["data"]
    assert sts["spec"]["serviceName"] in {s["metadata"]["name"] for s in stateful if s["kind"] == "Service"}
    assert one(stateful, "ConfigMap")["data"]["WORKER_STORE"] == "rocksdb://"
    stateless = render(chart, CI_VALUES["stateless-values.yaml"])
    deployment = one(stateless, "Deployment")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes["data"]
    assert one(stateless, "ConfigMap")["data"]["WORKER_STORE"] == "memory://"


def test_config_change_rolls_the_pods(chart: helm.Chart) -> None:
    def checksum(values: dict[str, Any]) -> str:
        annotations = workload(render(chart, values))["spec"]["template"]["metadata"]["annotations"]
        return str(annotations["checksum/config"])

    assert checksum(MINIMAL) == checksum(MINIMAL)
    assert checksum(MINIMAL) != checksum(merged(MINIMAL, config__LOG_LEVEL="DEBUG"))


def test_recording_rules_copy_matches_deploy(chart: helm.Chart) -> None:
    source = ROOT / "deploy" / "prometheus" / "recording-rules.yml"
    copy_in_chart = CHART / "files" / "recording-rules.yml"
    assert copy_in_chart.read_text() == source.read_text(), f"run: cp {source} {copy_in_chart}"
    rule = one(render(chart, CI_VALUES["all-optional-values.yaml"]), "PrometheusRule")
    expected = yaml.safe_load(source.read_text())["groups"]
    alerts = CHART / "files" / "alerts.yml"
    if alerts.exists():  # optional: a copy of deploy/prometheus/alerts.yml
        assert alerts.read_text() == (source.parent / "alerts.yml").read_text(), f"run: cp ... {alerts}"
        expected += yaml.safe_load(alerts.read_text())["groups"]
    assert rule["spec"]["groups"] == expected


def test_a_kafka_ca_bundle_can_be_mounted_for_tls(chart: helm.Chart) -> None:
    values = merged(
        MINIMAL,
        extraVolumes=[{"name": "kafka-ca", "secret": {"secretName": "kafka-ca"}}],
        extraVolumeMounts=[{"name": "kafka-ca", "mountPath": "/etc/kafka-ca", "readOnly": True}],
        config__KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        config__KAFKA_SSL_CAFILE="/etc/kafka-ca/ca.crt",
    )
    docs = render(chart, values)
    for doc in docs:
        if doc["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    pod = workload(docs)["spec"]["template"]["spec"]
    assert {"name": "kafka-ca", "secret": {"secretName": "kafka-ca"}} in pod["volumes"]
    assert {"name": "kafka-ca", "mountPath": "/etc/kafka-ca", "readOnly": True} in container(docs)[
        "volumeMounts"
    ]
    assert one(docs, "ConfigMap")["data"]["KAFKA_SSL_CAFILE"] == "/etc/kafka-ca/ca.crt"
