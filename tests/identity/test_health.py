from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_ok_without_redis_configured(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == {"status": "ok"}
    assert response.json()["checks"]["redis"]["status"] == "skipped"


def test_readyz_ok_with_running_redis(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == {"status": "ok"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stopped_redis_url(redis_server_binary, tmp_path):
    """Start a real Redis of our own, wait until it says it is ready, prove it answers, stop it."""
    port = _free_port()
    process = subprocess.Popen(
        [
            redis_server_binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
            "--daemonize",
            "no",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in process.stdout:  # blocks until Redis logs readiness, ends at EOF if it dies
        if "Ready to accept connections" in line:
            break
    else:
        pytest.fail("redis-server did not start")
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    assert client.ping()
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()
    return url


def test_readyz_reports_stopped_redis(client, settings, stopped_redis_url):
    settings.REDIS_URL = stopped_redis_url
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis"]
    assert body["checks"]["redis"]["status"] == "fail"
    assert body["checks"]["database"] == {"status": "ok"}


def test_readyz_reports_unreachable_database():
    """A process whose DATABASE_URL points at a closed port answers 503 naming the database."""
    port = _free_port()
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/readyz'); print(r.status_code, json.dumps(r.json()['failing']))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(
        DJANGO_SETTINGS_MODULE="identity.settings", DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/none"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == '503 ["database"]', result.stderr


def test_api_404_uses_the_error_envelope(client):
    response = client.get("/api/v1/projects/not-a-uuid/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_readyz_command_for_workers(settings, redis_url):
    """Workers serve no HTTP: `manage.py readyz` runs the same checks (deploy/kubernetes/worker.yaml)."""
    from io import StringIO

    from django.core.management import call_command

    settings.REDIS_URL = redis_url
    out = StringIO()
    call_command("readyz", stdout=out)
    assert json.loads(out.getvalue())["status"] == "ok"


def test_readyz_command_fails_naming_what_is_down(settings, stopped_redis_url):
    from io import StringIO

    from django.core.management import CommandError, call_command

    settings.REDIS_URL = stopped_redis_url
    out = StringIO()
    with pytest.raises(CommandError, match="not ready: redis"):
        call_command("readyz", stdout=out)
    assert json.loads(out.getvalue())["failing"] == ["redis"]
