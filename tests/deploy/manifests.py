"""Rendering (kustomize) and validating the Kubernetes manifests, offline.

Schema validation is kubernetes-validate (PyPI; it carries the Kubernetes OpenAPI schemas as JSON
Schema for every release it supports, so nothing is fetched), in strict mode: a field the schema
does not have is an error, not ignored. On top of the schemas, `problems()` checks what schemas
cannot: that names refer to objects that exist, that selectors select the pods, quantities parse,
and the settings are ones the service reads.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.helpers import REPO
from tests.integration.containers import required

K8S = REPO / "deploy" / "k8s"
# the oldest Kubernetes release still in wide use that has every API used here, and the newest packaged
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|[KMGTPE]i?|[kMGTPE])?$")
NAMESPACED = {"ConfigMap", "Secret", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


def kustomize_command() -> list[str]:
    """`kustomize build`, or the kustomize built into kubectl; the test fails in CI when neither is here."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    message = "rendering the manifests needs kustomize or kubectl (with its built-in kustomize)"
    if required():
        pytest.fail(message + "; required in CI, so this is a failure, not a skip")
    pytest.skip(message)


def render(directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kustomize build {directory} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def schema_errors(doc: dict[str, Any], version: str) -> list[str]:
    where = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')} (Kubernetes {version})"
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(p) for p in exc.path)
        return [f"{where}: {path}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{where}: no schema for {doc.get('apiVersion')} {doc.get('kind')}"]
    except kubernetes_validate.InvalidSchemaError as exc:
        return [f"{where}: {exc}"]
    return []


def _containers(pod: dict) -> list[dict]:
    return list(pod.get("initContainers") or []) + list(pod.get("containers") or [])


def _selects(selector: dict, labels: dict) -> bool:
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def semantic_errors(docs: list[dict], external_secrets: set[str] = frozenset(),
                    settings_fields: set[str] = frozenset()) -> list[str]:
    errors: list[str] = []
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc.get("kind", "?"), {})[(doc.get("metadata") or {}).get("name")] = doc
    configmaps, secrets = by_kind.get("ConfigMap", {}), by_kind.get("Secret", {})
    deployments = by_kind.get("Deployment", {})
    if not deployments:
        errors.append("no Deployment")
    for name, dep in deployments.items():
        where = f"Deployment/{name}"
        template = dep["spec"]["template"]
        labels, pod = template["metadata"].get("labels") or {}, template["spec"]
        if not _selects(dep["spec"]["selector"], labels):
            errors.append(f"{where}: its selector does not select its own pods")
        psc = pod.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True or not psc.get("runAsUser"):
            errors.append(f"{where}: pods must run as a non-root user (runAsNonRoot, runAsUser)")
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        for c in _containers(pod):
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{cw}: readOnlyRootFilesystem must be true")
            dropped = (sc.get("capabilities") or {}).get("drop") or []
            if sc.get("allowPrivilegeEscalation") is not False or "ALL" not in dropped:
                errors.append(f"{cw}: must not escalate privileges and must drop ALL capabilities")
            resources = c.get("resources") or {}
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    value = (resources.get(part) or {}).get(resource)
                    if value is None:
                        errors.append(f"{cw}: resources.{part}.{resource} is missing")
                    elif not QUANTITY.match(str(value)):
                        errors.append(f"{cw}: resources.{part}.{resource} {value!r} is not a quantity")
            for mount in c.get("volumeMounts") or []:
                if mount["name"] not in volumes:
                    errors.append(f"{cw}: mounts volume {mount['name']!r}, which the pod does not have")
            for source in c.get("envFrom") or []:
                if "configMapRef" in source and source["configMapRef"]["name"] not in configmaps:
                    errors.append(f"{cw}: ConfigMap {source['configMapRef']['name']!r} is not in the manifests")
                if "secretRef" in source:
                    secret = source["secretRef"]["name"]
                    if secret not in secrets and secret not in external_secrets:
                        errors.append(f"{cw}: Secret {secret!r} is not in the manifests")
        for v in volumes.values():
            cm = v.get("configMap")
            if cm and cm["name"] not in configmaps and not cm.get("optional"):
                errors.append(f"{where}: volume {v['name']} needs ConfigMap {cm['name']!r}, "
                              "which is not in the manifests")
        engine = next((c for c in pod["containers"] if c["name"] == "engine"), None)
        if engine is None:
            errors.append(f"{where}: no container named engine")
            continue
        probes = {p: ((engine.get(p) or {}).get("httpGet") or {}).get("path")
                  for p in ("startupProbe", "livenessProbe", "readinessProbe")}
        if probes != {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}:
            errors.append(f"{where}: probes must be /healthz (startup, liveness) and /readyz (readiness), not {probes}")
        writable = {m["mountPath"] for m in engine.get("volumeMounts") or []
                    if not m.get("readOnly") and "emptyDir" in volumes.get(m["name"], {})}
        if not {"/tmp", "/data"} <= writable:
            errors.append(f"{where}: /tmp and /data must be writable volumes (the root file system is read-only)")
        settings: dict[str, str] = {}
        for source in engine.get("envFrom") or []:
            if "configMapRef" in source:
                settings.update((configmaps.get(source["configMapRef"]["name"]) or {}).get("data") or {})
        rules_dir = settings.get("RULES_DIR")
        mounted = {m["mountPath"] for m in engine.get("volumeMounts") or []}
        if rules_dir != "/app/rules" and rules_dir not in mounted:
            errors.append(f"{where}: RULES_DIR {rules_dir!r} is neither the image's /app/rules nor a mounted folder")
        if settings.get("RULESET_ON_START") != "database":
            errors.append(f"{where}: replicas must start with RULESET_ON_START=database (docs/deploy.md)")
        if settings_fields:
            unknown = {k for k in settings if k.lower() not in settings_fields}
            if unknown:
                errors.append(f"{where}: settings the service does not read: {sorted(unknown)}")
        for kind in ("Service", "PodDisruptionBudget"):
            for other_name, other in by_kind.get(kind, {}).items():
                selector = other["spec"].get("selector") or {}
                selector = selector if kind == "PodDisruptionBudget" else {"matchLabels": selector}
                if not _selects(selector, labels):
                    errors.append(f"{kind}/{other_name}: its selector does not select the Deployment's pods")
    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] != "Deployment" or target["name"] not in deployments:
            errors.append(f"HorizontalPodAutoscaler/{name}: scales {target['kind']}/{target['name']}, "
                          "not in the manifests")
        if not any((m.get("resource") or {}).get("name") == "cpu" for m in hpa["spec"].get("metrics") or []):
            errors.append(f"HorizontalPodAutoscaler/{name}: no CPU metric")
    for kind in ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        if not by_kind.get(kind):
            errors.append(f"no {kind}")
    return errors


def problems(docs: list[dict], external_secrets: set[str] = frozenset(),
             settings_fields: set[str] = frozenset()) -> list[str]:
    """Every schema error (for each Kubernetes version) and every semantic error in a set of manifests."""
    errors = [e for doc in docs for version in KUBERNETES_VERSIONS for e in schema_errors(doc, version)]
    return errors + semantic_errors(docs, external_secrets, settings_fields)


def load(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
