"""deploy/k8s: the kustomize base and the production overlay, rendered and validated offline.

Each rendered object is validated in strict mode against the Kubernetes schemas of two releases
(kubernetes-validate carries them), and the set is checked for what schemas cannot see. A
deliberately broken manifest and a broken overlay show that the same validation fails them.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from service.errors import InvalidRuleSet
from service.rulebase.loading import from_directory
from service.settings import Settings
from tests.deploy.manifests import K8S, kustomize_command, load, problems, render
from tests.helpers import RULES

SETTINGS = set(Settings.model_fields)
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return render(K8S / "base")


@pytest.fixture(scope="module")
def production() -> list[dict]:
    return render(K8S / "overlays" / "production")


def kinds(docs: list[dict]) -> dict[str, dict]:
    return {d["kind"]: d for d in docs}


def test_base_renders_valid_manifests(base):
    assert problems(base, settings_fields=SETTINGS) == []
    objects = kinds(base)
    assert set(objects) == {"ConfigMap", "Secret", "Service", "Deployment", "HorizontalPodAutoscaler",
                            "PodDisruptionBudget"}
    assert set(objects["Secret"]["stringData"]) == {"DATABASE_URL", "AUTH_TOKENS"}
    settings = objects["ConfigMap"]["data"]
    assert settings["RULESET_ON_START"] == "database" and settings["HOST"] == "0.0.0.0"
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["rules", "migrate"]
    assert pod["initContainers"][1]["command"] == ["compliance-engine", "db", "upgrade"]
    assert pod["terminationGracePeriodSeconds"] > 5 + 20  # preStop sleep + uvicorn's graceful shutdown
    assert "replicas" not in objects["Deployment"]["spec"]  # the HorizontalPodAutoscaler owns it


def test_production_overlay_renders_valid_manifests(production):
    # the Secret is created out of band in production: the Deployment may name it without the manifests holding it
    assert problems(production, external_secrets={"compliance-engine"}, settings_fields=SETTINGS) == []
    objects = kinds(production)
    assert "Secret" not in objects
    assert objects["Namespace"]["metadata"]["name"] == "compliance"
    assert all(d["metadata"].get("namespace") == "compliance" for d in production if d["kind"] != "Namespace")
    images = {c["image"] for c in objects["Deployment"]["spec"]["template"]["spec"]["containers"]
              + objects["Deployment"]["spec"]["template"]["spec"]["initContainers"]}
    assert images == {"registry.example.com/compliance/compliance-engine:0.1.0"}
    assert objects["HorizontalPodAutoscaler"]["spec"]["minReplicas"] == 3
    settings = objects["ConfigMap"]["data"]
    assert settings["LOG_LEVEL"] == "warning" and settings["RULESET_ON_START"] == "database"
    engine = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert engine["resources"]["limits"] == {"cpu": "2", "memory": "1Gi"}
    assert engine["readinessProbe"]["httpGet"]["path"] == "/readyz"  # the base's parts survive the patch


def test_a_broken_manifest_is_reported(tmp_path):
    reported = "\n".join(problems(load(HERE / "broken-deployment.yaml"), settings_fields=SETTINGS))
    expected = [
        "spec/replicas: 'two' is not of type 'integer'",
        "containerPort: '8000' is not of type 'integer'",
        "'paht' was unexpected",
        "no schema for policy/v1beta1 PodDisruptionBudget",
        "container engine: readOnlyRootFilesystem must be true",
        "resources.limits.cpu 'two' is not a quantity",
        "mounts volume 'data', which the pod does not have",
        "replicas must start with RULESET_ON_START=database",
        "settings the service does not read: ['WORKER']",
        "Service/compliance-engine: its selector does not select the Deployment's pods",
        "scales Deployment/compliance-api, not in the manifests",
    ]
    missing = [e for e in expected if e not in reported]
    assert not missing, f"not reported: {missing}\nreported:\n{reported}"


def test_a_broken_overlay_is_reported(tmp_path):
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    overlay = tree / "overlays" / "broken"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["../production"],
        "patches": [{"patch": yaml.safe_dump({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "compliance-engine"},
            "spec": {"template": {"spec": {"containers": [{
                "name": "engine",
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSecond": 10},
                "securityContext": {"readOnlyRootFilesystem": False}}]}}}})}],
    }))
    reported = "\n".join(problems(render(overlay), external_secrets={"compliance-engine"}, settings_fields=SETTINGS))
    assert "'periodSecond' was unexpected" in reported, reported
    assert "container engine: readOnlyRootFilesystem must be true" in reported, reported


# --- the optional rules override -------------------------------------------------------------------------------
def configmap_volume(root: Path, data: dict[str, str]) -> Path:
    """A folder laid out as the kubelet lays out a ConfigMap volume: each key a link into ..data."""
    root.mkdir(parents=True)
    stamp = root / "..2026_11_23_01_00_00.000000001"
    stamp.mkdir()
    for key, text in data.items():
        (stamp / key).write_text(text)
    (root / "..data").symlink_to(stamp.name)
    for key in data:
        (root / key).symlink_to(f"..data/{key}")
    return root


def configmap_data(folder: Path) -> dict[str, str]:
    """What `kubectl create configmap NAME --from-file=FOLDER/` (docs/deploy.md) puts in the ConfigMap."""
    done = subprocess.run(["kubectl", "create", "configmap", "x", f"--from-file={folder}/", "--dry-run=client",
                           "-o", "json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    assert sum(len(v.encode()) for v in data.values()) < 1024 * 1024  # a ConfigMap holds at most 1 MiB
    return data


def run_rules_init(deployment: dict, tmp_path: Path, override: dict[str, str] | None,
                   sources: dict[str, str] | None) -> Path:
    """Run the `rules` init container's own script, its folders moved under tmp_path."""
    init = next(c for c in deployment["spec"]["template"]["spec"]["initContainers"] if c["name"] == "rules")
    assert init["command"][:2] == ["sh", "-c"]
    env = {e["name"]: e["value"] for e in init["env"]}
    mounts = {m["mountPath"] for m in init["volumeMounts"]}
    assert {env["OVERRIDE_RULES"], env["OVERRIDE_SOURCES"], env["RULES_DIR"]} <= mounts
    local = {
        "OVERRIDE_RULES": tmp_path / "rules-override",
        "OVERRIDE_SOURCES": tmp_path / "rule-sources-override",
        "RULES_DIR": tmp_path / "rules",
        "BAKED_RULES": RULES,  # the image's /app/rules is the repository's rules/
    }
    configmap_volume(local["OVERRIDE_RULES"], override or {})  # an absent optional ConfigMap: an empty folder
    configmap_volume(local["OVERRIDE_SOURCES"], sources or {})
    local["RULES_DIR"].mkdir()
    done = subprocess.run(init["command"], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], **{k: str(v) for k, v in local.items()}})
    assert done.returncode == 0, done.stderr
    return local["RULES_DIR"]


def test_without_a_rules_configmap_the_pods_serve_the_baked_rules(base, tmp_path):
    rules_dir = run_rules_init(kinds(base)["Deployment"], tmp_path, None, None)
    assert from_directory(rules_dir).digest == from_directory(RULES).digest


def test_a_rules_configmap_overrides_the_baked_rules(base, tmp_path):
    if shutil.which("kubectl") is None:
        kustomize_command()  # fails in CI, skips elsewhere
        pytest.skip("needs kubectl to build the ConfigMaps")
    changed = tmp_path / "changed"
    shutil.copytree(RULES, changed)
    (changed / "categories.yaml").write_text((changed / "categories.yaml").read_text() + "\n# overridden\n")
    rule_data, source_data = configmap_data(changed), configmap_data(changed / "sources")
    # mounted as is, a ConfigMap volume is refused by the loader (its files are links) ...
    with pytest.raises(InvalidRuleSet, match="links are not allowed"):
        from_directory(configmap_volume(tmp_path / "as-mounted", rule_data))
    # ... so the init container copies it, with sources/ from the second ConfigMap
    rules_dir = run_rules_init(kinds(base)["Deployment"], tmp_path / "init", rule_data, source_data)
    assert from_directory(rules_dir).digest == from_directory(changed).digest != from_directory(RULES).digest
