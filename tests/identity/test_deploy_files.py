"""deploy/compose.yaml and deploy/kubernetes/ agree with what the app requires and provides.

The variables production refuses to start without (identity/settings.py) and the keys
`check --deploy` requires (identity/checks.py) reach every app process; every variable the files
set is one the app reads; the probes hit URLs identity/urls.py serves, with a Host the deployment
allows; processes start the way the Dockerfile does; one beat; the autoscaler and the disruption
budget point at the web pods.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands
from django.urls import resolve

from identity import checks, health

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
# Read by the web server's launcher (identity/server.py) or the worker's shell, not by Django's settings.
SHELL_VARIABLES = {"WORKER_CONCURRENCY"}


# --- what the app requires and reads --------------------------------------------------------


def required_by_settings() -> set[str]:
    """The names in settings.py's require_production_settings([...]) call."""
    tree = ast.parse((ROOT / "identity" / "settings.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "require_production_settings":
            return {element.value for element in node.args[0].elts}  # type: ignore[attr-defined]
    raise AssertionError("settings.py no longer calls require_production_settings")


def required_by_checks(settings) -> set[str]:
    """The variables whose absence makes identity/checks.py report an error in production."""
    settings.PRODUCTION = True
    settings.ENCRYPTION_KEYS = []
    settings.CLIENT_SECRET_PEPPER = ""
    errors = [m for m in checks.check_key_configuration() if m.level >= 40]
    names = {re.match(r"([A-Z_]+) is not set", m.msg).group(1) for m in errors}  # type: ignore[union-attr]
    assert names, "check_key_configuration reports no missing key any more"
    return names


@pytest.fixture
def required(settings) -> set[str]:
    names = required_by_settings() | required_by_checks(settings)
    assert {"SECRET_KEY", "ENCRYPTION_KEYS", "CLIENT_SECRET_PEPPER", "DATABASE_URL"} <= names
    return names


def variables_the_app_reads() -> set[str]:
    text = (ROOT / "identity" / "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', text))
    return names | required_by_settings() | variables_the_server_reads()


def variables_the_server_reads() -> set[str]:
    text = (ROOT / "identity" / "server.py").read_text()
    names = set(re.findall(r'(?:_env_int\(|environ\.get\()\s*"([A-Z0-9_]+)"', text))
    assert "WEB_CONCURRENCY" in names, "identity/server.py no longer reads WEB_CONCURRENCY"
    return names


def dockerfile_cmd() -> list[str]:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            return json.loads(line[4:])
    raise AssertionError("the Dockerfile has no CMD")


def dockerfile_uid() -> int:
    match = re.search(r"useradd .*--uid (\d+)", (ROOT / "Dockerfile").read_text())
    assert match
    return int(match.group(1))


def command_text(command) -> str:
    return command if isinstance(command, str) else " ".join(command)


# The web process (identity/server.py) and the port it is told to listen on.
WEB_SERVER = re.compile(r"python -m identity\.server --port (\d+)")


# --- compose -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


APP_SERVICES = ("migrate", "web", "worker", "beat")


def test_compose_has_every_part(compose):
    assert {*APP_SERVICES, "postgres", "redis", "mailpit", "proxy"} <= set(compose["services"])


def test_compose_gives_every_app_process_what_production_requires(compose, required):
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["APP_ENV"] == "production", name
        missing = required - set(environment)
        assert not missing, f"{name} lacks {sorted(missing)}"
        # the three keys are the operator's: compose refuses to start without them
        for key in ("SECRET_KEY", "ENCRYPTION_KEYS", "CLIENT_SECRET_PEPPER"):
            assert environment[key].startswith("${" + key + ":?"), (name, key)


def test_compose_sets_only_variables_the_app_reads(compose):
    known = variables_the_app_reads() | SHELL_VARIABLES
    for name in APP_SERVICES:
        unknown = set(compose["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets {sorted(unknown)}, which nothing reads"


def test_compose_processes_start_like_the_dockerfile(compose):
    services = compose["services"]
    docker_cmd = command_text(dockerfile_cmd())
    assert WEB_SERVER.search(docker_cmd)
    assert WEB_SERVER.search(command_text(services["web"]["command"])).group(1) == WEB_SERVER.search(
        docker_cmd
    ).group(1)
    assert command_text(services["worker"]["command"]).startswith("celery -A identity worker")
    assert command_text(services["beat"]["command"]).startswith("celery -A identity beat")
    assert services["beat"]["deploy"]["replicas"] == 1
    assert command_text(services["migrate"]["command"]) == "python manage.py migrate --noinput"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_health_checks_use_the_app_probes(compose):
    web = command_text(compose["services"]["web"]["healthcheck"]["test"])
    assert "/readyz" in web and resolve("/readyz").func is health.readyz
    host = re.search(r"'Host': '([^']+)'", web).group(1)
    default_hosts = re.search(
        r"\$\{ALLOWED_HOSTS:-([^}]+)\}", compose["services"]["web"]["environment"]["ALLOWED_HOSTS"]
    )
    assert host in default_hosts.group(1).split(",")
    worker = command_text(compose["services"]["worker"]["healthcheck"]["test"])
    assert "manage.py readyz" in worker and "readyz" in get_commands()


def test_compose_proxy_balances_on_readyz_without_stickiness(compose):
    config = (DEPLOY / "haproxy.cfg").read_text()
    assert re.search(r"^\s*balance roundrobin$", config, re.M)
    directives = [line.split("#")[0].split() for line in config.splitlines()]
    assert not [d for d in directives if d and (d[0] == "cookie" or d[0].startswith("stick"))]
    check = re.search(r"http-check send meth GET uri (\S+) .*hdr Host (\S+)", config)
    assert check.group(1) == "/readyz"
    assert check.group(2) in compose["services"]["web"]["environment"]["ALLOWED_HOSTS"]


def test_compose_mail_goes_to_the_catcher_and_redis_persists(compose):
    environment = compose["services"]["web"]["environment"]
    assert environment["EMAIL_HOST"] == "mailpit"
    assert environment["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert environment["REDIS_URL"].startswith("redis://redis:")
    assert (
        environment["DATABASE_URL"].startswith("postgres://")
        and "@postgres:5432/" in environment["DATABASE_URL"]
    )
    redis = command_text(compose["services"]["redis"]["command"])
    assert "--appendonly yes" in redis


# --- kubernetes ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict]:
    found: dict[tuple[str, str], dict] = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                key = (document["kind"], document["metadata"]["name"])
                assert key not in found, f"{key} defined twice"
                found[key] = document
    return found


def deployment(manifests, name: str) -> dict:
    return manifests[("Deployment", f"identity-{name}")]


def container(workload: dict) -> dict:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    files = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_kubernetes_has_every_part(manifests):
    assert {
        ("Deployment", "identity-web"),
        ("Deployment", "identity-worker"),
        ("Deployment", "identity-beat"),
        ("Job", "identity-migrate"),
        ("HorizontalPodAutoscaler", "identity-web"),
        ("PodDisruptionBudget", "identity-web"),
        ("Secret", "identity-secrets"),
        ("ConfigMap", "identity-config"),
        ("Service", "identity-web"),
    } <= set(manifests)


def test_secret_holds_the_keys(manifests):
    secret = manifests[("Secret", "identity-secrets")]["stringData"]
    assert {"SECRET_KEY", "ENCRYPTION_KEYS", "CLIENT_SECRET_PEPPER"} <= set(secret)
    config = manifests[("ConfigMap", "identity-config")]["data"]
    assert not {"SECRET_KEY", "ENCRYPTION_KEYS", "CLIENT_SECRET_PEPPER", "DATABASE_URL"} & set(config)


def test_every_app_pod_gets_what_production_requires(manifests, required):
    config = manifests[("ConfigMap", "identity-config")]["data"]
    secret = manifests[("Secret", "identity-secrets")]["stringData"]
    assert config["APP_ENV"] == "production"
    assert not required - set(config) - set(secret), sorted(required - set(config) - set(secret))
    known = variables_the_app_reads() | SHELL_VARIABLES
    assert not (set(config) | set(secret)) - known, sorted((set(config) | set(secret)) - known)
    workloads = [deployment(manifests, n) for n in ("web", "worker", "beat")]
    workloads.append(manifests[("Job", "identity-migrate")])
    for workload in workloads:
        sources = {next(iter(ref.values()))["name"] for ref in container(workload)["envFrom"]}
        assert sources == {"identity-config", "identity-secrets"}, workload["metadata"]["name"]
        security = workload["spec"]["template"]["spec"]["securityContext"]
        assert security["runAsNonRoot"] and security["runAsUser"] == dockerfile_uid()


def test_web_probes_are_readyz_and_healthz_with_an_allowed_host(manifests):
    web = container(deployment(manifests, "web"))
    allowed = manifests[("ConfigMap", "identity-config")]["data"]["ALLOWED_HOSTS"].split(",")
    port = WEB_SERVER.search(command_text(web["command"])).group(1)
    assert port == WEB_SERVER.search(command_text(dockerfile_cmd())).group(1)
    assert {p["name"]: p["containerPort"] for p in web["ports"]} == {"http": int(port)}
    expected = {
        "readinessProbe": health.readyz,
        "livenessProbe": health.healthz,
        "startupProbe": health.healthz,
    }
    for probe, view in expected.items():
        get = web[probe]["httpGet"]
        assert resolve(get["path"]).func is view, probe
        assert get["port"] == "http"
        hosts = [h["value"] for h in get["httpHeaders"] if h["name"] == "Host"]
        assert hosts and hosts[0] in allowed, probe


def test_worker_probes_use_the_readiness_checks_and_ping_itself(manifests):
    worker = container(deployment(manifests, "worker"))
    assert command_text(worker["command"]).startswith("sh -c exec celery -A identity worker")
    assert worker["readinessProbe"]["exec"]["command"] == ["python", "manage.py", "readyz"]
    assert "readyz" in get_commands()
    ping = command_text(worker["livenessProbe"]["exec"]["command"])
    assert "celery -A identity inspect ping" in ping and "-d celery@${HOSTNAME}" in ping
    assert "-n celery@${HOSTNAME}" in command_text(worker["command"])


def test_exactly_one_beat_and_a_migration_job(manifests):
    beat = deployment(manifests, "beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    assert shlex.join(container(beat)["command"]).startswith("celery -A identity beat")
    job = manifests[("Job", "identity-migrate")]
    assert container(job)["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_autoscaler_and_disruption_budget_point_at_the_web_pods(manifests):
    web = deployment(manifests, "web")
    labels = web["spec"]["template"]["metadata"]["labels"]
    assert web["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = manifests[("HorizontalPodAutoscaler", "identity-web")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "identity-web"}
    assert 1 < hpa["minReplicas"] <= hpa["maxReplicas"]
    pdb = manifests[("PodDisruptionBudget", "identity-web")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["minAvailable"] < hpa["minReplicas"]  # a drain can always proceed
    service = manifests[("Service", "identity-web")]["spec"]
    assert service["selector"].items() <= labels.items()
    worker = deployment(manifests, "worker")
    worker_pdb = manifests[("PodDisruptionBudget", "identity-worker")]["spec"]
    assert (
        worker_pdb["selector"]["matchLabels"].items()
        <= worker["spec"]["template"]["metadata"]["labels"].items()
    )
    assert worker_pdb["minAvailable"] < worker["spec"]["replicas"]


def test_every_workload_runs_the_same_image(manifests, compose):
    images = {container(w)["image"] for (kind, _), w in manifests.items() if kind in ("Deployment", "Job")}
    assert images == {"identity-portal"}
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert [i["name"] for i in kustomization["images"]] == ["identity-portal"]
    assert {compose["services"][n]["image"] for n in APP_SERVICES} == {"identity-portal:latest"}
