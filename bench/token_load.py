"""Hot-path benchmark (issue #14 item 3): ours against node-oidc-provider, in one run, on this machine.

    python bench/token_load.py [--duration 10] [--connections 8] [--workers 3] [--members 100000]
        [--skip-node] [--with-dot]

Starts our server (`python -m identity.server`: granian, as production runs it; production settings but allauth's per-IP sign-in rate limit, see
bench/bench_settings.py; PostgreSQL; Redis for the cache) and, in the same run, node-oidc-provider 9
(bench/node_oidc/, one Node.js process, RS256 JWT access tokens for client credentials), and drives
each with `wrk`. It measures:

  * client-credentials grants/s, ours and node-oidc-provider's (both RS256 JWT access tokens);
  * introspections/s (RFC 7662; node-oidc-provider does not introspect JWT access tokens);
  * refresh-token grants/s (each request rotates a different refresh token);
  * password sign-ins/s (allauth's password step, Argon2id) and per core;
  * whole authorization-code flows/s: GET /o/authorize/ with a signed-in session -> 302 with a
    code -> POST /o/token/ (PKCE, ID token and refresh token) -> 200;
  * the portal's user list and the API's membership list with --members memberships in one
    project: p95 latency of the first page, with search and filters (2 connections).

It prints one Markdown table and saves bench/results/token_load.json. With --with-dot it also runs
the old comparison with django-oauth-toolkit's defaults (bench/dot_defaults_settings.py).

Needs: PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/identity_bench; the
database is dropped and re-created), Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/10; the
server's cache, flushed first), `wrk` (Debian package), Node.js >= 20 with npm (`npm ci` runs in
bench/node_oidc when its node_modules is missing).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.cookies
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
NODE_DIR = ROOT / "bench" / "node_oidc"
SESSION_COOKIE, CSRF_COOKIE = "__Host-session", "__Host-csrftoken"  # production's names
PASSWORD = "bench-password-Quokka-Lantern-42"
REDIRECT_URI = "https://app.bench.test/callback"
CODE_VERIFIER = "bench-code-verifier-" + "v" * 40
CODE_CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=").decode()
)

SETUP = r"""
import json, sys, time, uuid, datetime
import django
django.setup()
from django.utils import timezone
from accounts.models import Membership, Project, User
from accounts.services import project_create, user_get_or_create
from audit.context import Actor
from oauth.models import AccessToken, Client, RefreshToken
from oauth.services import ClientInput, client_create
from oauth2_provider.models import set_token_value

which, refresh_count, members = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {}
owner, _ = user_get_or_create(email="bench-owner@example.test", email_verified=True)
owner.set_password(PASSWORD); owner.save(update_fields=["password"])
project = Project.objects.filter(slug="bench").first() or project_create(name="Bench", slug="bench", owner=owner)
out["project_id"] = str(project.pk)
if which == "dot":
    secret = "dot-default-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
    client = Client(project=project, name="bench-dot", client_type="confidential",
                    authorization_grant_type="client-credentials", allowed_grant_types=["client_credentials"],
                    client_secret=secret, allowed_scopes="openid portal.read")
    client.save()
    print(json.dumps({"cc": {"client_id": client.client_id, "client_secret": secret}}))
    raise SystemExit
issued = client_create(project=project, actor=Actor.system(), data=ClientInput(
    name="bench-cc", grant_types=["client_credentials"], scopes=["openid", "portal.read"]))
out["cc"] = {"client_id": issued.client.client_id, "client_secret": issued.client_secret}
issued = client_create(project=project, actor=Actor.system(), data=ClientInput(
    name="bench-cc-es256", grant_types=["client_credentials"], scopes=["openid", "portal.read"],
    access_token_algorithm="ES256"))
out["cc_es256"] = {"client_id": issued.client.client_id, "client_secret": issued.client_secret}
issued = client_create(project=project, actor=Actor.system(), data=ClientInput(
    name="bench-web", grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT_URI],
    scopes=["openid", "email", "offline_access"], skip_consent=True))
web = issued.client
out["web"] = {"client_id": web.client_id, "client_secret": issued.client_secret}
# Refresh tokens as the code flow leaves them (an access token and its refresh token, one family
# each), written in bulk: each refresh-token request of the benchmark rotates a different one.
now = timezone.now()
access, refresh, values = [], [], []
for i in range(refresh_count):
    at = AccessToken(user=owner, application=web, scope="openid email offline_access",
                     expires=now + datetime.timedelta(hours=1), jti=uuid.uuid4().hex)
    set_token_value(at, "bench-at-" + uuid.uuid4().hex)
    access.append(at)
AccessToken.objects.bulk_create(access, batch_size=2000)
for at in access:
    value = "bench-rt-" + uuid.uuid4().hex + uuid.uuid4().hex
    rt = RefreshToken(user=owner, application=web, access_token=at, token_family=uuid.uuid4())
    set_token_value(rt, value)
    refresh.append(rt); values.append(value)
RefreshToken.objects.bulk_create(refresh, batch_size=2000)
out["refresh_tokens"] = values
# A second member who signs in (password sign-ins), and the crowd of a big project.
signer, _ = user_get_or_create(email="bench-signin@example.test", email_verified=True)
signer.set_password(PASSWORD); signer.save(update_fields=["password"])
Membership.objects.get_or_create(user=signer, project=project)
roles = ["member", "member", "member", "admin"]
batch = 5000
for start in range(0, members, batch):
    users = [User(email=f"member{i:06d}@crowd.bench.test", first_name=f"Given{i % 997}",
                  last_name=f"Family{i % 1009}", password="!") for i in range(start, min(start + batch, members))]
    User.objects.bulk_create(users)
    Membership.objects.bulk_create([
        Membership(user=u, project=project, role=roles[i % 4], is_active=(i % 10 != 0),
                   external_id=f"ext-{start + i:06d}") for i, u in enumerate(users)])
from django.db import connection
with connection.cursor() as cursor:
    # As autovacuum would after such a load (the planner sees the real sizes, the visibility map is
    # set); then the load's dirty pages are written out now rather than by the checkpointer during
    # the first timed measures (client credentials varied most from one run to the next).
    cursor.execute("VACUUM ANALYZE")
    try:
        cursor.execute("CHECKPOINT")
    except Exception as error:  # needs superuser or pg_checkpoint; the measures then include it
        print(f"no CHECKPOINT ({error})", file=sys.stderr)
print(json.dumps(out))
""".replace("PASSWORD", repr(PASSWORD)).replace("REDIRECT_URI", repr(REDIRECT_URI))

# One Lua file for every wrk run. The request comes from environment variables (WRK_*); counters of
# good and bad answers live in each thread and are summed in done().
WRK_SCRIPT = r"""
local mode = os.getenv("WRK_MODE")
local body = os.getenv("WRK_BODY") or ""
local auth = os.getenv("WRK_AUTH") or ""
local cookie = os.getenv("WRK_COOKIE") or ""
local expect = os.getenv("WRK_EXPECT") or ""
local expect_status = tonumber(os.getenv("WRK_STATUS") or "200")
local tokens, next_token, codes = {}, 0, {}
good, bad, flows = 0, 0, 0
local threads = {}

function setup(thread) table.insert(threads, thread) end

function init(args)
  if mode == "refresh" then
    for line in io.lines(os.getenv("WRK_TOKENS")) do tokens[#tokens + 1] = line end
  end
end

local form = {["Content-Type"] = "application/x-www-form-urlencoded"}

function request()
  if mode == "refresh" then
    next_token = next_token + 1
    local t = tokens[next_token] or "exhausted"
    return wrk.format("POST", nil, {["Content-Type"] = form["Content-Type"], ["Authorization"] = auth},
      "grant_type=refresh_token&refresh_token=" .. t)
  elseif mode == "flow" then
    local code = table.remove(codes)
    if code then
      return wrk.format("POST", os.getenv("WRK_TOKEN_PATH"),
        {["Content-Type"] = form["Content-Type"], ["Authorization"] = auth}, body .. code)
    end
    return wrk.format("GET", os.getenv("WRK_AUTHORIZE_PATH"), {["Cookie"] = cookie}, nil)
  elseif mode == "get" then
    return wrk.format("GET", nil, {["Cookie"] = cookie}, nil)
  end
  local headers = {["Content-Type"] = form["Content-Type"]}
  if auth ~= "" then headers["Authorization"] = auth end
  if cookie ~= "" then headers["Cookie"] = cookie end
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, rbody)
  if mode == "flow" then
    if status == 302 then
      -- header names as the server wrote them (granian: lower case; HTTP: any case)
      local location = headers["Location"] or headers["location"] or ""
      local code = string.match(location, "[?&]code=([^&]+)")
      if code then table.insert(codes, code) else bad = bad + 1 end
    elseif status == 200 and string.find(rbody, "id_token", 1, true) then
      flows = flows + 1
      good = good + 1
    else
      bad = bad + 1
    end
    return
  end
  if status == expect_status and (expect == "" or string.find(rbody, expect, 1, true)) then
    good = good + 1
  else
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local g, b, f = 0, 0, 0
  for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad"); f = f + t:get("flows") end
  io.write(string.format("RESULT requests=%d duration_us=%d good=%d bad=%d flows=%d connect=%d read=%d write=%d timeout=%d p50=%d p95=%d p99=%d\n",
    summary.requests, summary.duration, g, b, f, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(settings_module: str, database_url: str, redis_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        APP_ENV="production",
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        ENCRYPTION_KEYS="bench-encryption-key-" + "y" * 40,
        CLIENT_SECRET_PEPPER="bench-client-secret-pepper-" + "z" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        APP_BASE_URL="http://127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
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


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited; see {log}")
        try:
            if urllib.request.urlopen(url + "/healthz", timeout=2).status == 200:  # local URL
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start; see {log}")


def start_server(settings_module: str, env: dict, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    """The web process production runs (`python -m identity.server`: granian), without access log."""
    port = free_port()
    handle = open(log, "w")  # lives as long as the server
    process = subprocess.Popen(
        [PY, "-m", "identity.server", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--no-access-log"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": settings_module},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # stop_server() ends the workers with the main process
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process, log)
    return process, url


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_node(client: dict, log: Path) -> tuple[subprocess.Popen, str]:
    if not (NODE_DIR / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    handle = open(log, "w")  # lives as long as the server
    process = subprocess.Popen(
        ["node", "server.mjs"],
        cwd=NODE_DIR,
        env={
            **os.environ,
            "PORT": "0",
            "CLIENT_ID": client["client_id"],
            "CLIENT_SECRET": client["client_secret"],
            "NODE_ENV": "production",
        },
        stdout=subprocess.PIPE,
        stderr=handle,
        text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"node-oidc-provider did not start; see {log}")
    return process, line.split(" ", 1)[1]


def wrk(url: str, *, duration: int, connections: int, threads: int = 2, **env) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    run_env = {**os.environ, **{f"WRK_{k.upper()}": str(v) for k, v in env.items()}}
    completed = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            url,
        ],
        env=run_env,
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(script.name)
    match = re.search(r"RESULT (.*)", completed.stdout)
    if match is None:
        raise RuntimeError(f"wrk said: {completed.stdout} {completed.stderr}")
    values = {k: int(v) for k, v in (item.split("=") for item in match.group(1).split())}
    seconds = values["duration_us"] / 1e6
    return {
        "requests": values["requests"],
        "per_second": round(values["good"] / seconds, 1),
        "flows_per_second": round(values["flows"] / seconds, 1),
        "errors": values["bad"],
        "socket_errors": values["connect"] + values["read"] + values["write"] + values["timeout"],
        "p50_ms": round(values["p50"] / 1000, 1),
        "p95_ms": round(values["p95"] / 1000, 1),
        "p99_ms": round(values["p99"] / 1000, 1),
    }


def basic(credentials: dict) -> str:
    raw = f"{credentials['client_id']}:{credentials['client_secret']}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Browser:
    """A client that keeps cookies (the Secure ones too: production settings mark them Secure and the
    benchmark talks plain HTTP on loopback) and does not follow redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(self._NoRedirect)

    def open(self, path: str, data: dict | None = None) -> tuple[int, str, dict]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            response = self.opener.open(request, timeout=60)  # local URL
        except urllib.error.HTTPError as error:  # 3xx and 4xx land here
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.read().decode(errors="replace"), dict(response.headers)

    def cookie(self, name: str) -> str:
        return self.cookies.get(name, "")

    def csrf(self, path: str) -> str:
        status, page, _headers = self.open(path)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if match is None:
            raise RuntimeError(f"no CSRF token on {path} ({status}): {page[:300]}")
        return match.group(1)

    def sign_in(self, email: str) -> None:
        token = self.csrf("/accounts/login/")
        status, page, _ = self.open(
            "/accounts/login/", {"csrfmiddlewaretoken": token, "login": email, "password": PASSWORD}
        )
        if status != 302 or not self.cookie(SESSION_COOKIE):
            raise RuntimeError(f"sign-in failed ({status}): {page[:300]}")


def run_ours(args, creds: dict, env: dict, logs: Path) -> dict:
    results: dict = {}
    server, url = start_server("bench.bench_settings", env, args.workers, logs / "ours.log")
    try:
        cc = creds["cc"]
        cc_body = "grant_type=client_credentials&scope=portal.read"
        request = urllib.request.Request(
            url + "/o/token/", data=cc_body.encode(), headers={"Authorization": basic(cc)}
        )
        token = json.loads(urllib.request.urlopen(request, timeout=30).read())["access_token"]  # local URL
        common = {"duration": args.duration, "connections": args.connections}
        for result, key, label in (
            ("client_credentials", "cc", "client credentials"),
            ("client_credentials_es256", "cc_es256", "client credentials, ES256 client"),
        ):
            print(f"  {label}", flush=True)
            auth = basic(creds[key])
            # Warm-up, not counted (each worker loads its keys and client cache, opens its connections).
            wrk(
                url + "/o/token/",
                mode="post",
                body=cc_body,
                auth=auth,
                duration=2,
                connections=args.connections,
            )
            results[result] = wrk(
                url + "/o/token/", mode="post", body=cc_body, auth=auth, expect="access_token", **common
            )
        if args.only_grants:
            return results
        print("  introspection", flush=True)
        results["introspection"] = wrk(
            url + "/o/introspect/",
            mode="post",
            body=f"token={token}",
            auth=basic(cc),
            expect='"active": true',
            **common,
        )
        print("  refresh", flush=True)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as tokens:
            tokens.write("\n".join(creds["refresh_tokens"]) + "\n")
        results["refresh_token"] = wrk(
            url + "/o/token/",
            mode="refresh",
            tokens=tokens.name,
            auth=basic(creds["web"]),
            expect="refresh_token",
            threads=1,
            **common,
        )
        os.unlink(tokens.name)
        browser = Browser(url)
        browser.sign_in("bench-owner@example.test")
        session_cookie = f"{SESSION_COOKIE}={browser.cookie(SESSION_COOKIE)}"
        print("  authorization-code flows", flush=True)
        authorize = "/o/authorize/?" + urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": creds["web"]["client_id"],
                "redirect_uri": REDIRECT_URI,
                "scope": "openid email offline_access",
                "state": "bench-state",
                "code_challenge": CODE_CHALLENGE,
                "code_challenge_method": "S256",
            }
        )
        results["authorization_code_flow"] = wrk(
            url + "/o/authorize/",
            mode="flow",
            authorize_path=authorize,
            token_path="/o/token/",
            cookie=session_cookie,
            auth=basic(creds["web"]),
            threads=1,
            body="grant_type=authorization_code&redirect_uri="
            + urllib.parse.quote(REDIRECT_URI, safe="")
            + f"&code_verifier={CODE_VERIFIER}&code=",
            **common,
        )
        print("  password sign-ins", flush=True)
        anonymous = Browser(url)
        csrf = anonymous.csrf("/accounts/login/")
        results["password_sign_in"] = wrk(
            url + "/accounts/login/",
            mode="post",
            status=302,
            body=urllib.parse.urlencode(
                {"csrfmiddlewaretoken": csrf, "login": "bench-signin@example.test", "password": PASSWORD}
            ),
            cookie=f"{CSRF_COOKIE}={anonymous.cookie(CSRF_COOKIE)}",
            **common,
        )
        results["password_sign_in"]["per_core"] = round(
            results["password_sign_in"]["per_second"] / (os.cpu_count() or 1), 1
        )
        print("  member lists", flush=True)
        project_id = creds["project_id"]
        variants = {
            "first page": "",
            "search": "q=given42",
            "role filter": "role=admin",
            "status filter": "status=inactive",
            "search + filters": "q=family7&role=member&status=active",
        }
        lists = {}
        for path in ("/portal/bench/users/", f"/api/v1/projects/{project_id}/memberships/"):
            # Warm-up, not counted: each worker compiles the page's templates on its first render.
            wrk(url + path, mode="get", cookie=session_cookie, duration=2, connections=4, threads=1)
        for label, query in variants.items():
            for where, path in (
                ("portal", f"/portal/bench/users/?{query}"),
                ("api", f"/api/v1/projects/{project_id}/memberships/?{query}"),
            ):
                lists[f"{where}: {label}"] = wrk(
                    url + path,
                    mode="get",
                    cookie=session_cookie,
                    duration=max(3, args.duration // 2),
                    connections=2,
                    threads=1,
                )
        results["member_lists"] = lists
    finally:
        stop_server(server)
    return results


def run_node(args, creds: dict, logs: Path) -> dict:
    server, url = start_node(creds, logs / "node.log")
    try:
        print("  node-oidc-provider client credentials", flush=True)
        body, auth = "grant_type=client_credentials&scope=api.read", basic(creds)
        wrk(
            url + "/token", mode="post", body=body, auth=auth, duration=2, connections=args.connections
        )  # warm-up
        return {
            "client_credentials": wrk(
                url + "/token",
                mode="post",
                body="grant_type=client_credentials&scope=api.read",
                auth=basic(creds),
                expect="access_token",
                duration=args.duration,
                connections=args.connections,
            )
        }
    finally:
        stop_server(server)


def run_dot(args, creds: dict, env: dict, logs: Path) -> dict:
    server, url = start_server("bench.dot_defaults_settings", env, args.workers, logs / "dot.log")
    try:
        return {
            "client_credentials": wrk(
                url + "/o/token/",
                mode="post",
                body="grant_type=client_credentials",
                auth=basic(creds["cc"]),
                expect="access_token",
                duration=args.duration,
                connections=args.connections,
            )
        }
    finally:
        stop_server(server)


def machine() -> str:
    model = ""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPUs ({model or 'unknown'}), shared by server, PostgreSQL, Redis and wrk"


def report(args, results: dict) -> list[str]:
    ours, node = results["ours"], results.get("node", {})
    cc, ncc = ours["client_credentials"], node.get("client_credentials")
    ratio = f"{cc['per_second'] / ncc['per_second']:.2f}×" if ncc and ncc["per_second"] else "n/a"
    lines = [
        f"Machine: {machine()}. Ours: granian --workers {args.workers} (identity/server.py), PostgreSQL, Redis; "
        f"node-oidc-provider 9: one Node.js process, in-memory. wrk -c{args.connections}, {args.duration} s each.",
        "",
        "| measure | ours | node-oidc-provider | bar |",
        "|---|---:|---:|---|",
    ]

    def rate(r: dict, unit: str = "/s", key: str = "per_second") -> str:
        return f"{r[key]:,}{unit} (p99 {r['p99_ms']} ms, {r['errors'] + r['socket_errors']} errors)"

    lines.append(
        f"| client-credentials grants (RS256 JWT) | {rate(cc)} | {rate(ncc) if ncc else 'n/a'} | "
        f"≥ 0.6× node (goal 1.0×), 0 errors, p99 ≤ 50 ms: **{ratio}** |"
    )
    es = ours.get("client_credentials_es256")
    if es:
        es_ratio = f"{es['per_second'] / ncc['per_second']:.2f}×" if ncc and ncc["per_second"] else "n/a"
        lines.append(
            f"| client-credentials grants (ES256 JWT: a client registered for ES256 access tokens) | {rate(es)} | "
            f"{rate(ncc) if ncc else 'n/a'} (RS256) | same bar: **{es_ratio}** |"
        )
    if "introspection" not in ours:
        return lines
    lines.append(
        f"| introspections | {rate(ours['introspection'])} | n/a (no introspection of JWT tokens) | ≥ 2,000/s |"
    )
    lines.append(
        f"| refresh-token grants (rotating) | {rate(ours['refresh_token'])} | not measured | ≥ 300/s |"
    )
    sign_in = ours["password_sign_in"]
    lines.append(
        f"| password sign-ins (Argon2id m=19 MiB t=2 p=1) | {rate(sign_in)}, {sign_in['per_core']}/s per core "
        f"| not measured | ≥ 20/s per core |"
    )
    lines.append(
        f"| authorization-code flows (authorize → code → token) | {rate(ours['authorization_code_flow'], key='flows_per_second')} "
        f"| not measured | ≥ 80/s |"
    )
    for label, r in ours["member_lists"].items():
        lines.append(
            f"| member list, {args.members:,} members — {label} | p95 {r['p95_ms']} ms ({r['per_second']}/s, "
            f"{r['errors'] + r['socket_errors']} errors) | not measured | p95 ≤ 100 ms |"
        )
    if "dot" in results:
        lines.append(
            f"| client credentials, DOT defaults (PBKDF2, opaque) | {rate(results['dot']['client_credentials'])} | | |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--skip-node", action="store_true")
    parser.add_argument("--with-dot", action="store_true")
    parser.add_argument(
        "--only-grants",
        action="store_true",
        help="client credentials only (ours and node's): a quick comparison",
    )
    args, _unknown = parser.parse_known_args()  # make bench passes one BENCH_ARGS to every script
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    database_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/identity_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
    recreate_database(database_url)
    flush_redis(redis_url)
    env = env_for("identity.settings", database_url, redis_url)
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    # Production settings serve hashed static files from the manifest (pages name them).
    subprocess.run([PY, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    print("setting up (clients, refresh tokens, members)", flush=True)
    refresh_count = 10 if args.only_grants else max(5000, 800 * args.duration)
    members = 0 if args.only_grants else args.members
    out = subprocess.run(
        [PY, "-c", SETUP, "ours", str(refresh_count), str(members)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    creds = json.loads(out.strip().splitlines()[-1])
    logs = Path(tempfile.mkdtemp(prefix="bench-"))
    results = {}
    print("ours", flush=True)
    results["ours"] = run_ours(args, creds, env, logs)
    if not args.skip_node:
        print("node-oidc-provider", flush=True)
        results["node"] = run_node(args, creds["cc"], logs)
    if args.with_dot:
        out = subprocess.run(
            [PY, "-c", SETUP, "dot", "0", "0"],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "bench.dot_defaults_settings"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results["dot"] = run_dot(args, json.loads(out.strip().splitlines()[-1]), env, logs)
    lines = report(args, results)
    print("\n" + "\n".join(lines))
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "token_load.json").write_text(json.dumps({"args": vars(args), **results}, indent=2))
    (out_dir / "token_load.md").write_text("\n".join(lines) + "\n")
    ours = results["ours"]
    ok = all(
        ours[k]["errors"] == 0
        for k in ("client_credentials", "client_credentials_es256", "introspection", "refresh_token")
        if k in ours
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
