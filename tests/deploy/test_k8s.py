"""deploy/k8s renders with Kustomize and every object validates against the Kubernetes schemas;
what it runs matches the image, the services and the partition bound."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.test_compose import console_scripts

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SERVICES = {"sage-poller", "mapper", "zoho-writer", "audit", "console"}
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # oldest still supported by the big clouds; newest


def render(folder: pathlib.Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        done = subprocess.run(
            [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True
        )
        text = done.stdout
    elif (folder / "kustomization.yaml").exists() and folder.parent.name != "overlays":
        text = "\n---\n".join(  # no kubectl: the base's files as they are
            (folder / name).read_text()
            for name in yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"]
        )
    else:
        pytest.skip("kubectl (with kustomize) is needed to render an overlay")
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(K8S / request.param)


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_schema(
    objects: list[dict[str, Any]], version: str
) -> None:
    errors = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert errors == []


def test_a_deployment_per_service_with_probes_resources_and_refs(
    objects: list[dict[str, Any]],
) -> None:
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == {f"mlc-{s}" for s in SERVICES}
    scripts = console_scripts()
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["command"][0] in scripts, name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), name
        assert "memory" in container["resources"]["limits"], name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert {"configMapRef": {"name": "mlc-config"}} in container["envFrom"], name
        secret_refs = {
            e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e
        }
        # the console also reads its admin password hash
        assert secret_refs - {"mlc-console"} == {"mlc-database"}, name
        assert any(
            v.get("secret", {}).get("secretName") == "mlc-master-keys" for v in pod["volumes"]
        )


def test_scaling_is_bounded_by_the_partitions(objects: list[dict[str, Any]]) -> None:
    partitions = int(of_kind(objects, "ConfigMap")["mlc-config"]["data"]["MLC_KAFKA_PARTITIONS"])
    hpas = of_kind(objects, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == {
        "mlc-mapper",
        "mlc-zoho-writer",
    }
    for hpa in hpas.values():
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= partitions
    poller = of_kind(objects, "Deployment")["mlc-sage-poller"]["spec"]
    assert poller["replicas"] == 1 and poller["strategy"]["type"] == "Recreate"


def test_migrations_run_as_a_job_and_secrets_stay_external(
    objects: list[dict[str, Any]],
) -> None:
    [job] = of_kind(objects, "Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["mlc", "db", "migrate"]
    assert of_kind(objects, "Secret") == {}  # referenced only; created by the operator
    assert not {"StatefulSet", "PersistentVolumeClaim"} & {o["kind"] for o in objects}


def test_the_image_user_is_the_pods_numeric_non_root_user(objects: list[dict[str, Any]]) -> None:
    match = re.search(r"^USER\s+(\d+)\s*$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile must end up as a numeric, non-root USER"
    for deployment in of_kind(objects, "Deployment").values():
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(
            match.group(1)
        )


def test_compose_runs_the_same_services_with_the_same_probes() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    base = render(K8S / "base")
    port = of_kind(base, "ConfigMap")["mlc-config"]["data"]["MLC_HEALTH_PORT"]
    for service in SERVICES:
        env = compose[service]["environment"]
        assert env["MLC_HEALTH_PORT"] == port, service
        assert env["OTEL_SERVICE_NAME"] == service, service
        assert "/readyz" in " ".join(compose[service]["healthcheck"]["test"]), service
