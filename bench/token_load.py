"""Client-credentials and introspection load benchmark: gunicorn + PostgreSQL + wrk, on this machine.

Runs two servers side by side in one run, against one freshly migrated PostgreSQL database:
  * ours  — identity.settings (keyed SHA-256 client secrets, JWT access tokens, our validator)
  * dot   — bench.dot_defaults_settings (django-oauth-toolkit's defaults: PBKDF2 secrets, opaque tokens)
and reports grants/s, introspections/s and latency percentiles for each.

    python bench/token_load.py [--duration 15] [--connections 16] [--workers 3]

Needs: PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/identity_bench; the
database is dropped and re-created), `wrk` (Debian package), gunicorn (installed with the project).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

SETUP = r"""
import json, django
django.setup()
from accounts.models import Project
from accounts.services import project_create, user_get_or_create
from audit.context import Actor
from oauth.models import Client
from oauth.services import ClientInput, client_create
owner, _ = user_get_or_create(email="bench-owner@example.test", email_verified=True)
project = Project.objects.filter(slug="bench").first() or project_create(name="Bench", slug="bench", owner=owner)
if "{which}" == "ours":
    issued = client_create(project=project, actor=Actor.system(), data=ClientInput(
        name="bench-ours", grant_types=["client_credentials"], scopes=["openid", "portal.read"]))
    print(json.dumps({{"client_id": issued.client.client_id, "client_secret": issued.client_secret}}))
else:
    secret = "dot-default-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
    client = Client(project=project, name="bench-dot", client_type="confidential",
                    authorization_grant_type="client-credentials", allowed_grant_types=["client_credentials"],
                    client_secret=secret, allowed_scopes="openid portal.read")
    client.save()
    print(json.dumps({{"client_id": client.client_id, "client_secret": secret}}))
"""

WRK_SCRIPT = r"""
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("WRK_AUTH")
local bad = 0
response = function(status, headers, body)
  if status ~= 200 or (os.getenv("WRK_EXPECT") ~= "" and not string.find(body, os.getenv("WRK_EXPECT"), 1, true)) then
    bad = bad + 1
  end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d errors_status=%d connect=%d read=%d write=%d timeout=%d p50=%d p95=%d p99=%d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(settings_module: str, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url,
        APP_ENV="production",
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        ENCRYPTION_KEYS="bench-encryption-key-" + "y" * 40,
        CLIENT_SECRET_PEPPER="bench-client-secret-pepper-" + "z" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        APP_BASE_URL="http://127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        DB_CONN_MAX_AGE="600",
    )
    return env


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def start_server(
    settings_module: str, database_url: str, workers: int, log: Path
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    handle = open(log, "w")  # lives as long as the server
    process = subprocess.Popen(
        [
            PY,
            "-m",
            "gunicorn",
            "identity.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--backlog",
            "2048",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env_for(settings_module, database_url),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url + "/healthz", timeout=2).status == 200:  # local URL
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start; see {log}")


def wrk(url: str, path: str, *, body: str, auth: str, expect: str, duration: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    env = {**os.environ, "WRK_BODY": body, "WRK_AUTH": auth, "WRK_EXPECT": expect}
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            url + path,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"RESULT (.*)", out)
    fields = dict(item.split("=") for item in match.group(1).split())
    values = {k: int(v) for k, v in fields.items()}
    seconds = values["duration_us"] / 1e6
    return {
        "requests": values["requests"],
        "per_second": round(values["requests"] / seconds, 1),
        "non_2xx": values["errors_status"],
        "socket_errors": values["connect"] + values["read"] + values["write"] + values["timeout"],
        "p50_ms": round(values["p50"] / 1000, 1),
        "p95_ms": round(values["p95"] / 1000, 1),
        "p99_ms": round(values["p99"] / 1000, 1),
    }


def basic(credentials: dict) -> str:
    import base64

    raw = f"{credentials['client_id']}:{credentials['client_secret']}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--dot-duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    args, _unknown = parser.parse_known_args()  # make bench passes one BENCH_ARGS to every script
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    database_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/identity_bench")
    recreate_database(database_url)
    subprocess.run(
        [PY, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env=env_for("identity.settings", database_url),
        check=True,
    )
    creds = {}
    for which, module in (("ours", "identity.settings"), ("dot", "bench.dot_defaults_settings")):
        out = subprocess.run(
            [PY, "-c", SETUP.format(which=which)],
            cwd=ROOT,
            env=env_for(module, database_url),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        creds[which] = json.loads(out.strip().splitlines()[-1])

    logs = Path(tempfile.mkdtemp(prefix="bench-"))
    results = {}
    for which, module in (("ours", "identity.settings"), ("dot", "bench.dot_defaults_settings")):
        server, url = start_server(module, database_url, args.workers, logs / f"{which}.log")
        try:
            auth = basic(creds[which])
            # DOT's default scopes are "read"/"write"; ours asks for a portal scope.
            body = "grant_type=client_credentials" + ("&scope=portal.read" if which == "ours" else "")
            # warm-up: one token, also used for the introspection run
            request = urllib.request.Request(
                url + "/o/token/", data=body.encode(), headers={"Authorization": auth}
            )
            token = json.loads(urllib.request.urlopen(request, timeout=30).read())["access_token"]
            duration = args.duration if which == "ours" else args.dot_duration
            results[which] = {
                "token": wrk(
                    url,
                    "/o/token/",
                    body=body,
                    auth=auth,
                    expect="access_token",
                    duration=duration,
                    connections=args.connections,
                )
            }
            if which == "ours":
                results[which]["introspect"] = wrk(
                    url,
                    "/o/introspect/",
                    body=f"token={token}",
                    auth=auth,
                    expect='"active": true',
                    duration=args.duration,
                    connections=args.connections,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(
        f"\nClient-credentials benchmark: gunicorn --workers {args.workers} (sync), PostgreSQL, wrk -t2 -c{args.connections}, "
        f"{os.cpu_count()} CPUs shared by server, database and load generator\n"
    )
    print("| configuration | endpoint | requests/s | p50 ms | p95 ms | p99 ms | non-2xx | socket errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for which, label in (("ours", "ours"), ("dot", "DOT defaults")):
        for endpoint, r in results[which].items():
            print(
                f"| {label} | {endpoint} | {r['per_second']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['non_2xx']} | {r['socket_errors']} |"
            )
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "token_load.json").write_text(json.dumps(results, indent=2))
    ok = results["ours"]["token"]["non_2xx"] == 0 and results["ours"]["introspect"]["non_2xx"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
