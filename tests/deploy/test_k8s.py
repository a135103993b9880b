"""deploy/k8s renders with Kustomize and every object validates against the Kubernetes schemas;
then what the schemas cannot see: who mounts the master keys and whether its user can read
them, selectors that select, no `replicas` fighting an HPA, migrations and topics ordered before
the services, each service on its own database role and Kafka principal, and network policies."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml
from mlc_cli.kafka_access import OPERATOR, PRINCIPALS

from tests.deploy.test_compose import PROVISION, console_scripts

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SERVICES = {"sage-poller", "mapper", "zoho-writer", "audit", "console"}
# The only holders of the master keys: the console seals the secrets an operator connects.
DECRYPTING = {"mlc-sage-poller", "mlc-zoho-writer", "mlc-console"}
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # oldest still supported by the big clouds; newest
OVERLAYS = sorted(str(p.parent.relative_to(K8S)) for p in K8S.glob("overlays/*/kustomization.yaml"))
INFRASTRUCTURE_PORTS = {5432, 9092, 9093}  # PostgreSQL and Kafka, wherever they are

Obj = dict[str, Any]


def render(folder: pathlib.Path) -> list[Obj]:
    done = subprocess.run(
        [str(ROOT / "deploy" / "local" / "kustomize.sh"), "build", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module", params=["base", *OVERLAYS])
def objects(request: pytest.FixtureRequest) -> list[Obj]:
    return render(K8S / request.param)


def of_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pods(objects: list[Obj]) -> dict[str, Obj]:
    """Every pod template (Deployments and Jobs) by its owner's name."""
    workloads = of_kind(objects, "Deployment") | of_kind(objects, "Job")
    return {name: w["spec"]["template"] for name, w in workloads.items()}


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In", "extend selects() for this operator"
        if labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def test_there_is_an_overlay() -> None:
    assert OVERLAYS, "deploy/k8s/overlays/* with a kustomization.yaml"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_schema(objects: list[Obj], version: str) -> None:
    errors = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert errors == []


def runs_something_we_ship(command: list[str]) -> bool:
    if command[:2] == ["python", "-m"]:
        return importlib.util.find_spec(command[2]) is not None
    return command[0] in console_scripts()


def test_a_deployment_per_service_with_probes_resources_and_hardening(objects: list[Obj]) -> None:
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == {f"mlc-{s}" for s in SERVICES}
    for name, template in pods(objects).items():
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod.get("initContainers", []) + pod["containers"]:
            where = f"{name}/{container['name']}"
            assert runs_something_we_ship(container["command"]), where
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), where
            assert "memory" in container["resources"]["limits"], where
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
    for name, deployment in deployments.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        # Probes name a declared port (the services' `health`, the console's one `http`).
        named = {port["name"] for port in container["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] in named, f"{name} {probe}"
        assert {"configMapRef": {"name": "mlc-config"}} in container["envFrom"], name
        limit = container["resources"]["limits"]["memory"]
        assert mebibytes(container["resources"]["requests"]["memory"]) <= mebibytes(limit), name


def mebibytes(quantity: str) -> int:
    match = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    assert match, f"memory as Mi or Gi: {quantity}"
    return int(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)


def env_of(container: Obj) -> dict[str, Obj]:
    return {e["name"]: e for e in container.get("env", [])}


def test_each_service_connects_with_its_own_database_role(objects: list[Obj]) -> None:
    keys = {}
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        ref = env_of(container)["MLC_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "mlc-database", name
        keys[name] = ref["key"]
        [wait] = pod["initContainers"]  # waits for the schema, as the same role
        assert env_of(wait)["MLC_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == ref, name
        secret_refs = {
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        # the console also reads its admin password hash
        assert secret_refs - {"mlc-console"} == {"mlc-database"}, name
    assert len(set(keys.values())) == len(keys), keys


def test_only_the_decrypting_services_mount_the_keys_and_can_read_them(
    objects: list[Obj],
) -> None:
    for name, template in pods(objects).items():
        pod = template["spec"]
        key_volumes = [v for v in pod.get("volumes", []) if v.get("secret", {}).get("secretName")]
        [container] = pod["containers"]
        keys_file = env_of(container).get("MLC_MASTER_KEYS_FILE", {}).get("value")
        if name not in DECRYPTING:
            assert key_volumes == [] and keys_file is None, f"{name} decrypts nothing"
            continue
        [volume] = key_volumes
        assert volume["secret"]["secretName"] == "mlc-master-keys", name
        [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
        [item] = volume["secret"]["items"]
        assert keys_file == f"{mount['mountPath']}/{item['path']}", name
        # Secret files belong to root, group fsGroup: a non-root user reads them by group.
        mode = item.get("mode", volume["secret"].get("defaultMode", 0o644))
        security = pod["securityContext"]
        user, group = security["runAsUser"], security.get("fsGroup")
        assert user != 0 and group is not None, f"{name}: no fsGroup, keys unreadable"
        assert mode & 0o040, f"{name}: mode {mode:o} gives group {group} no read"
        assert not mode & 0o007, f"{name}: mode {mode:o} lets everyone read the keys"


def test_selectors_select_their_pods(objects: list[Obj]) -> None:
    templates = pods(objects)
    for name, deployment in of_kind(objects, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selects(deployment["spec"]["selector"], labels), name
    for name, pdb in of_kind(objects, "PodDisruptionBudget").items():
        matched = [
            p
            for p in templates.values()
            if selects(pdb["spec"]["selector"], p["metadata"]["labels"])
        ]
        assert len(matched) == 1, f"PodDisruptionBudget/{name} selects {len(matched)} workloads"
    for name, policy in of_kind(objects, "NetworkPolicy").items():
        assert any(
            selects(policy["spec"]["podSelector"], p["metadata"]["labels"])
            for p in templates.values()
        ), f"NetworkPolicy/{name} selects nothing"


def test_no_hpa_target_sets_replicas_and_scaling_is_bounded(objects: list[Obj]) -> None:
    partitions = int(of_kind(objects, "ConfigMap")["mlc-config"]["data"]["MLC_KAFKA_PARTITIONS"])
    hpas = of_kind(objects, "HorizontalPodAutoscaler")
    deployments = of_kind(objects, "Deployment")
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()}
    assert targets == {"mlc-mapper", "mlc-zoho-writer"}
    for target in targets:
        assert "replicas" not in deployments[target]["spec"], f"{target}: the HPA owns replicas"
    for hpa in hpas.values():
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= partitions
    poller = deployments["mlc-sage-poller"]["spec"]
    assert poller["replicas"] == 1 and poller["strategy"]["type"] == "Recreate"


def test_migrations_run_first_under_argo_and_plain_kubectl(objects: list[Obj]) -> None:
    jobs = of_kind(objects, "Job")
    assert set(jobs) == {"mlc-migrate", "mlc-kafka-topics"}
    job = jobs["mlc-migrate"]
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"] == ["mlc", "db", "migrate"]
    for job in jobs.values():
        if job["metadata"].get("annotations", {}).get("argocd.argoproj.io/hook") == "PreSync":
            # a PreSync hook runs before the Sync phase creates anything else of ours
            spec = job["spec"]["template"]["spec"]
            assert spec.get("serviceAccountName", "default") == "default"
    for name, deployment in of_kind(objects, "Deployment").items():
        [wait] = deployment["spec"]["template"]["spec"]["initContainers"]
        assert wait["command"] == ["python", "-m", "mlc_core.schema_wait"], name
    assert of_kind(objects, "Secret") == {}  # referenced only; created by the operator
    assert not {"StatefulSet", "PersistentVolumeClaim"} & {o["kind"] for o in objects}


def egress_anywhere(objects: list[Obj], labels: dict[str, str]) -> set[int | str]:
    """Ports the pod may reach on any address (rules with no `to`); 'all' for no ports."""
    ports: set[int | str] = set()
    for policy in of_kind(objects, "NetworkPolicy").values():
        if not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("egress", []):
            if rule.get("to"):
                continue
            ports |= {p["port"] for p in rule.get("ports", [])} or {"all"}
    return ports


# Zoho is on the internet: the writer writes to it, the console exchanges an operator's grant.
INTERNET = {"mlc-zoho-writer", "mlc-console"}


def test_network_policies_deny_by_default_and_only_the_writer_reaches_the_internet(
    objects: list[Obj],
) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    for name, template in pods(objects).items():
        labels = template["metadata"]["labels"]
        mine = [p for p in policies.values() if selects(p["spec"]["podSelector"], labels)]
        assert any(
            p["spec"]["policyTypes"] == ["Ingress", "Egress"] and not p["spec"].get("ingress")
            for p in mine
        ), name
        ingress = [rule for p in mine for rule in p["spec"].get("ingress", [])]
        if name == "mlc-console":  # operators' browsers, through the ingress, on its HTTP port
            assert [port["port"] for rule in ingress for port in rule["ports"]] == [8080]
        else:
            assert not ingress, f"{name} accepts connections"
        anywhere = egress_anywhere(objects, labels)
        if name in INTERNET:
            assert 443 in anywhere
        else:
            assert anywhere <= INFRASTRUCTURE_PORTS, f"{name} reaches the internet: {anywhere}"


def test_the_image_user_is_the_pods_numeric_non_root_user(objects: list[Obj]) -> None:
    match = re.search(r"^USER\s+(\d+)\s*$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile must end up as a numeric, non-root USER"
    for template in pods(objects).values():
        assert template["spec"]["securityContext"]["runAsUser"] == int(match.group(1))


def test_compose_runs_the_same_services_with_the_same_probes() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    base = render(K8S / "base")
    port = of_kind(base, "ConfigMap")["mlc-config"]["data"]["MLC_HEALTH_PORT"]
    for service in SERVICES:
        env = compose[service]["environment"]
        assert env["MLC_HEALTH_PORT"] == port, service
        assert env["OTEL_SERVICE_NAME"] == service, service
        assert "/readyz" in " ".join(compose[service]["healthcheck"]["test"]), service


def config_data(objects: list[Obj]) -> dict[str, str]:
    data: dict[str, str] = of_kind(objects, "ConfigMap")["mlc-config"]["data"]
    return data


def test_every_service_gets_its_topics(objects: list[Obj]) -> None:
    """Services create no topics unless MLC_KAFKA_AUTO_CREATE_TOPICS is on: then a Job runs
    `mlc kafka topics --apply` with the services' own settings, ordered as the migrations are
    (a PreSync hook under Argo CD; with kubectl the services wait for the topics), as the
    operator principal, and the network lets it reach Kafka."""
    config = config_data(objects)
    if config.get("MLC_KAFKA_AUTO_CREATE_TOPICS", "false").lower() == "true":
        return
    provisioning = {
        name: template
        for name, template in pods(objects).items()
        if any(c["command"] == PROVISION for c in template["spec"]["containers"])
    }
    assert provisioning, "no Job runs `mlc kafka topics --apply`: the services would never start"
    migrate_hook = of_kind(objects, "Job")["mlc-migrate"]["metadata"].get("annotations", {})
    for name, template in provisioning.items():
        [container] = template["spec"]["containers"]
        assert {"configMapRef": {"name": "mlc-config"}} in container["envFrom"], name
        assert env_of(container)["MLC_KAFKA_USERNAME"]["value"] == OPERATOR, name
        hook = of_kind(objects, "Job")[name]["metadata"].get("annotations", {})
        assert hook.get("argocd.argoproj.io/hook") == migrate_hook.get("argocd.argoproj.io/hook")
        assert {9092, 9093} <= egress_anywhere(objects, template["metadata"]["labels"]), name
    replication = int(config["MLC_KAFKA_REPLICATION_FACTOR"])
    assert 1 <= int(config["MLC_KAFKA_MIN_INSYNC_REPLICAS"]) <= replication


def test_production_topic_defaults() -> None:
    config = config_data(render(K8S / "base"))
    assert config["MLC_KAFKA_REPLICATION_FACTOR"] == "3"
    assert config["MLC_KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert config.get("MLC_KAFKA_AUTO_CREATE_TOPICS", "false") == "false"


def kafka_pods(objects: list[Obj]) -> dict[str, tuple[str, Obj]]:
    """Every pod that talks to Kafka, with the principal it should connect as (the console runs
    the operators' operations: it is the operator)."""
    found = {
        n: (OPERATOR if n == "mlc-console" else n, p)
        for n, p in pods(objects).items()
        if n.removeprefix("mlc-") in SERVICES
    }
    found |= {
        n: (OPERATOR, p)
        for n, p in pods(objects).items()
        if any(c["command"] == PROVISION for c in p["spec"]["containers"])
    }
    return found


def test_each_kafka_client_is_its_own_principal_with_its_own_optional_secret(
    objects: list[Obj],
) -> None:
    config = config_data(objects)
    pods_found = kafka_pods(objects)
    assert {principal for principal, _ in pods_found.values()} == set(PRINCIPALS)
    for name, (principal, template) in pods_found.items():
        pod = template["spec"]
        [container] = pod["containers"]
        env = env_of(container)
        assert env["MLC_KAFKA_USERNAME"]["value"] == principal, name
        projected = {v["name"]: v["projected"] for v in pod.get("volumes", []) if "projected" in v}
        mounts = {m["name"]: m for m in container.get("volumeMounts", []) if m["name"] in projected}
        [(volume, mount)] = [(projected[n], m) for n, m in mounts.items()]
        secrets = [s["secret"] for s in volume["sources"]]
        assert {"name": principal, "optional": True} in secrets, name
        assert all(s.get("optional") for s in secrets), f"{name}: a PLAINTEXT Kafka needs none"
        assert mount["readOnly"] is True, name
        mode = volume.get("defaultMode", 0o644)
        assert pod["securityContext"].get("fsGroup") is not None, f"{name}: files unreadable"
        assert mode & 0o040 and not mode & 0o007, f"{name}: mode {mode:o}"
        files = {
            k: v for k, v in config.items() if k.startswith("MLC_KAFKA_") and k.endswith("_FILE")
        }
        files |= {
            k: e["value"]
            for k, e in env.items()
            if k.startswith("MLC_KAFKA_") and k.endswith("_FILE")
        }
        for key, path in files.items():
            assert path.startswith(mount["mountPath"] + "/"), f"{name}: {key}={path} not mounted"
        assert not any("secretRef" in e for e in container.get("envFrom", [])), (
            f"{name}: Kafka credentials come from its own mounted Secret"
        )
