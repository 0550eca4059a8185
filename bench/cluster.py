"""A multi-node run on this machine: two web nodes, two Celery workers and beat behind HAProxy.

    python bench/cluster.py [--journeys 20] [--concurrency 2]      (or: make cluster)

Starts, with production settings (APP_ENV=production, random SECRET_KEY / ENCRYPTION_KEYS /
CLIENT_SECRET_PEPPER for this run), against one PostgreSQL database created for the run and Redis:

  * web1, web2  — `python -m identity.server` (granian, 2 workers each) on loopback ports
  * worker1, worker2 — Celery workers (2 processes each); beat (relay every 5 s)
  * HAProxy    — TLS on a loopback port with a certificate made for this run, round-robin, no sticky
                 sessions, health checks on /readyz (every second, down after 2 failures), sets
                 X-Forwarded-Proto/-For for the nodes (TRUSTED_PROXY_COUNT=1, so the __Host- secure
                 cookies work) and X-Served-By: the node that answered.
  * an SMTP sink (in this process) that counts every message by its X-Outbox-Id.

Then the journey runs N times per phase through the balancer: invite (portal API, admin client's
client-credentials token) → email (the link read from the SMTP sink) → set password → sign in
(email step, then password step) → authorize (code + PKCE, consent) → token → refresh →
introspect → userinfo → sign out (RP-initiated logout with the ID token) → introspect again
(the tokens of the ended session are revoked). Phases:

  1. steady  — nothing breaks;
  2. faults  — the sink waits a second before accepting each message, and a third of the way in
               `kill -9` of web1's process group and of a worker's: the one caught in the middle of
               sending an email (else worker1). HAProxy takes web1 out; the email the worker held
               is re-published by the relay after OUTBOX_SENDING_TIMEOUT_SECONDS (30 s here). Both
               come back before the next phase;
  3. redis   — a third of the way in, Redis is shut down (no persistence: queued tasks and cache are
               gone) and started again with the options it had. Always last, and Redis is started
               again in a `finally` whatever happens.

A request that fails at the transport level or with 502/503/504 (in flight on a killed node, no
node up for a moment) is retried once after a second; everything else fails the journey with its
cause. At the end the script waits for the outbox to settle and compares the messages the sink
received with the outbox rows marked sent: lost = sent rows never received (or rows never sent),
duplicates = the same X-Outbox-Id received twice.

Needs PostgreSQL (CLUSTER_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/identity_cluster,
dropped and re-created), Redis (CLUSTER_REDIS_URL, default redis://127.0.0.1:6379/9, flushed) and
HAProxy (/usr/sbin/haproxy; installed with apt-get when missing). Logs and the report (JSON) go to
bench/results/cluster-<time>/ (journeys.jsonl: every request with the node that served it, its
status and time). Exit status 1 when a journey failed or an email was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import email
import email.policy
import hashlib
import html.parser
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
REDIRECT = "https://app.example/cb"
LOGGED_OUT = "https://app.example/logged-out"
PASSWORD = "a calm river at dawn, 42"
RELAY_SECONDS = 5
SENDING_TIMEOUT_SECONDS = 30
RETRYABLE_STATUS = {502, 503, 504}
PHASES = ("steady", "faults", "redis")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP sink -------------------------------------------------------------------------------


class SmtpSink:
    """A minimal SMTP server (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that keeps every message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        # Seconds to wait before answering DATA (the fault phase: a worker killed then is mid-send,
        # and the message was not accepted), and the client ports of the sessions waiting there.
        self.data_delay = 0.0
        self.waiting: set[int] = set()

    def start(self) -> None:
        started = threading.Event()
        self._started = started
        self.thread.start()
        started.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", self.port))
        self._started.set()
        with contextlib.suppress(Exception):
            self.loop.run_forever()
        server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def reply(line: str) -> None:
            writer.write((line + "\r\n").encode())

        reply("220 sink ESMTP")
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                command = raw.decode(errors="replace").strip()
                verb = command.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    reply("250-sink")
                    reply("250-8BITMIME")
                    reply("250 SMTPUTF8")
                elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                    reply("250 OK")
                elif verb == "DATA":
                    if self.data_delay:
                        port = writer.get_extra_info("peername")[1]
                        self.waiting.add(port)
                        try:
                            await asyncio.sleep(self.data_delay)
                        finally:
                            self.waiting.discard(port)
                    reply("354 end with <CRLF>.<CRLF>")
                    await writer.drain()
                    lines = []
                    while True:
                        line = await reader.readline()
                        if not line:
                            return  # the sender went away before the end of the message: not accepted
                        if line in (b".\r\n", b".\n"):
                            break
                        lines.append(line[1:] if line.startswith(b"..") else line)
                    message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                    with self.arrived:
                        self.messages.append(message)  # type: ignore[arg-type]
                        self.arrived.notify_all()
                    reply("250 queued")
                elif verb == "QUIT":
                    reply("221 bye")
                    await writer.drain()
                    break
                else:
                    reply("502 not implemented")
                await writer.drain()
        finally:
            writer.close()

    def wait_for(self, to: str, timeout: float) -> email.message.EmailMessage | None:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for message in self.messages:
                    if str(message["To"]).strip() == to:
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.arrived.wait(left)

    def outbox_ids(self) -> Counter:
        with self.lock:
            return Counter(str(m["X-Outbox-Id"]) for m in self.messages)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


def pid_of_client(client_port: int, server_port: int) -> int | None:
    """The process holding the loopback TCP connection client_port -> server_port (from /proc)."""
    inode = ""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            parts = line.split()
            local, remote = parts[1], parts[2]
            if int(local.split(":")[1], 16) == client_port and int(remote.split(":")[1], 16) == server_port:
                inode = parts[9]
                break
    if not inode:
        return None
    target = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return int(pid)
    return None


def message_text(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


# --- Processes -----------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    argv: list[str]
    log_path: Path
    env: dict
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        handle = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        """kill -9 of the whole process group (the server's main process and workers, Celery's pool)."""
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.kill9()


def ensure_haproxy() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else "")
    if found:
        return found
    log("haproxy is missing: apt-get install haproxy")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "haproxy"], check=True, env=env)
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1 (HAProxy's PEM: certificate + key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ca = directory / "ca.pem"
    ca.write_bytes(cert_pem)
    bundle = directory / "haproxy.pem"
    bundle.write_bytes(cert_pem + key_pem)
    bundle.chmod(0o600)
    return ca, bundle


HAPROXY_CFG = """
global
    maxconn 256
    stats socket {stats} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 5s
    retries 2
    option redispatch

frontend identity
    bind 127.0.0.1:{port} ssl crt {pem}
    http-request set-header X-Forwarded-Proto https
    option forwardfor
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 1s fall 3 rise 2
    http-response set-header X-Served-By %s
{servers}
"""


class Redis:
    """The machine's shared Redis: restarted once, always left running."""

    CI_OPTIONS = [
        "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "", "--appendonly", "no",
        "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
    ]  # fmt: skip

    def __init__(self, url: str) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 6379
        self.client = redis.Redis(
            host=self.host,
            port=self.port,
            socket_timeout=2,
            socket_connect_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )
        self.options = self.CI_OPTIONS
        with contextlib.suppress(Exception):
            self.options = self._running_options()

    def _running_options(self) -> list[str]:
        config = {}
        for name in ("bind", "port", "save", "appendonly", "dir", "logfile"):
            config.update({k.decode(): v.decode() for k, v in self.client.config_get(name).items()})
        return [
            "--bind", *config["bind"].split(), "--port", config["port"], "--save", config["save"],
            "--appendonly", config["appendonly"], "--dir", config["dir"], "--logfile", config["logfile"],
        ]  # fmt: skip

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:
            return False

    def shutdown(self) -> None:
        subprocess.run(
            ["redis-cli", "-h", self.host, "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            check=False,
        )
        deadline = time.monotonic() + 10
        while self.ping() and time.monotonic() < deadline:
            time.sleep(0.05)

    def start(self) -> None:
        if self.ping():
            return
        for directory in ("/var/lib/redis", "/var/log/redis"):
            Path(directory).mkdir(parents=True, exist_ok=True)
        subprocess.run(["redis-server", "--daemonize", "yes", *self.options], check=True, cwd="/")
        deadline = time.monotonic() + 30
        while not self.ping():
            if time.monotonic() > deadline:
                raise RuntimeError("Redis did not come back within 30 s")
            time.sleep(0.1)


# --- The cluster ---------------------------------------------------------------------------


SETUP = r"""
import json, django
django.setup()
from accounts.services import project_create, user_get_or_create
from audit.context import Actor
from oauth.services import ClientInput, client_create
owner, _ = user_get_or_create(email="owner@cluster.test", email_verified=True)
project = project_create(name="Cluster", slug="cluster", owner=owner)
admin = client_create(project=project, actor=Actor.system(), data=ClientInput(
    name="cluster-admin", grant_types=["client_credentials"], scopes=["portal.read", "portal.write"],
    role="admin"))
web = client_create(project=project, actor=Actor.system(), data=ClientInput(
    name="cluster-web", grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT],
    scopes=["openid", "profile", "email", "offline_access"], post_logout_redirect_uris=[LOGGED_OUT]))
print(json.dumps({"project_id": str(project.pk),
    "admin": [admin.client.client_id, admin.client_secret], "web": [web.client.client_id, web.client_secret]}))
"""


class Cluster:
    def __init__(self, args: argparse.Namespace, run_dir: Path) -> None:
        self.args = args
        self.run_dir = run_dir
        self.database_url = args.database_url
        self.redis = Redis(args.redis_url)
        self.port = free_port()
        self.base_url = f"https://localhost:{self.port}"
        self.smtp = SmtpSink(free_port())
        self.web: dict[str, Proc] = {}
        self.workers: dict[str, Proc] = {}
        self.others: list[Proc] = []
        self.haproxy: Proc | None = None
        self.killed_worker = "worker1"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ANYMAIL_"))},
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ENCRYPTION_KEYS": secrets.token_urlsafe(48),
            "CLIENT_SECRET_PEPPER": secrets.token_urlsafe(48),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": args.redis_url,
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "APP_BASE_URL": self.base_url,
            "TRUSTED_PROXY_COUNT": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp.port),
            "EMAIL_TIMEOUT": "5",
            "DEFAULT_FROM_EMAIL": "Identity Portal <no-reply@cluster.test>",
            "OUTBOX_RELAY_SECONDS": str(RELAY_SECONDS),
            "OUTBOX_SENDING_TIMEOUT_SECONDS": str(SENDING_TIMEOUT_SECONDS),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),  # this checkout's code, whatever the virtualenv points at
        }

    # setup

    def prepare(self) -> dict:
        import psycopg
        import redis

        name = self.database_url.rsplit("/", 1)[1]
        with psycopg.connect(self.database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        redis.Redis.from_url(self.args.redis_url).flushdb()
        manage = [sys.executable, "manage.py"]
        log("migrate, collectstatic, check --deploy")
        for argv in (
            [*manage, "migrate", "--noinput", "-v0"],
            [*manage, "collectstatic", "--noinput", "-v0"],
            [*manage, "check", "--deploy", "--fail-level", "ERROR"],
        ):
            done = subprocess.run(argv, cwd=ROOT, env=self.env, capture_output=True, text=True, check=False)
            if done.returncode:
                raise RuntimeError(f"{' '.join(argv[1:3])} failed:\n{done.stdout}{done.stderr}")
        script = SETUP.replace("REDIRECT", repr(REDIRECT)).replace("LOGGED_OUT", repr(LOGGED_OUT))
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**self.env, "DJANGO_SETTINGS_MODULE": "identity.settings"},
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    def _proc(self, name: str, argv: list[str]) -> Proc:
        return Proc(name=name, argv=argv, log_path=self.run_dir / f"{name}.log", env=self.env)

    def start(self) -> None:
        self.smtp.start()
        ports = {}
        for name in ("web1", "web2"):
            ports[name] = free_port()
            self.web[name] = self._proc(
                name,
                [
                    str(VENV_BIN / "python"), "-m", "identity.server", "--host", "127.0.0.1",
                    "--port", str(ports[name]), "--workers", str(self.args.web_workers),
                ],
            )  # fmt: skip
        for name in ("worker1", "worker2"):
            self.workers[name] = self._proc(
                name,
                [
                    str(VENV_BIN / "celery"), "-A", "identity", "worker", "-n", f"{name}@%h",
                    "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
                ],
            )  # fmt: skip
        beat = self._proc(
            "beat",
            [
                str(VENV_BIN / "celery"), "-A", "identity", "beat", "--loglevel", "WARNING",
                "--schedule", str(self.run_dir / "beat-schedule"),
            ],
        )  # fmt: skip
        self.others.append(beat)
        for proc in [*self.web.values(), *self.workers.values(), beat]:
            proc.start()
        ca, pem = make_certificate(self.run_dir)
        self.ca = str(ca)
        self.stats = self.run_dir / "haproxy.sock"
        servers = "\n".join(f"    server {n} 127.0.0.1:{p} check" for n, p in ports.items())
        cfg = self.run_dir / "haproxy.cfg"
        cfg.write_text(HAPROXY_CFG.format(port=self.port, pem=pem, stats=self.stats, servers=servers))
        self.haproxy = Proc(
            "haproxy", [ensure_haproxy(), "-db", "-f", str(cfg)], self.run_dir / "haproxy.log", {}
        )
        self.haproxy.start()
        self.ports = ports
        self.wait_nodes_up(["web1", "web2"], timeout=90)
        self.warm_up()

    def warm_up(self) -> None:
        """A few requests straight to each node, so that no journey meets a cold worker (the first
        request of a web worker imports the URL map, templates and the signing keys: seconds on
        a busy machine, long enough for a health check to time out on both nodes at once)."""
        import requests

        for port in self.ports.values():
            for path in ("/healthz", "/accounts/login/", "/o/jwks/", "/.well-known/openid-configuration") * 3:
                requests.get(
                    f"http://127.0.0.1:{port}{path}",
                    headers={"Host": "localhost", "X-Forwarded-Proto": "https"},
                    timeout=60,
                )

    def server_states(self, column: int = 17) -> dict[str, str]:
        """HAProxy's view of each node (column 17: UP / DOWN / ...; 4: requests in progress), from its
        stats socket."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.stats))
                s.sendall(b"show stat\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return {}
        states = {}
        for line in data.decode().splitlines():
            parts = line.split(",")
            if len(parts) > 17 and parts[0] == "nodes" and parts[1] not in ("BACKEND", "FRONTEND"):
                states[parts[1]] = parts[column]
        return states

    def wait_nodes_up(self, names: list[str], timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            states = self.server_states()
            if all(states.get(n, "").startswith("UP") for n in names):
                return time.monotonic() - started
            for name in names:
                if not self.web[name].alive():
                    raise RuntimeError(f"{name} exited; see {self.web[name].log_path}")
            time.sleep(0.2)
        raise RuntimeError(f"HAProxy does not see {names} up after {timeout}s: {self.server_states()}")

    def wait_node_down(self, name: str, timeout: float = 30) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.server_states().get(name, "").startswith("DOWN"):
                return time.monotonic() - started
            time.sleep(0.1)
        return None

    def stop(self) -> None:
        for proc in [*self.web.values(), *self.workers.values(), *self.others]:
            proc.stop()
        if self.haproxy is not None:
            self.haproxy.stop()
        self.smtp.stop()

    # outbox

    def outbox_counts(self) -> dict[str, int]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT status, count(*) FROM notifications_outboundmessage GROUP BY status"
            ).fetchall()
        return {status: count for status, count in rows}

    def sent_ids(self) -> set[str]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT id::text FROM notifications_outboundmessage WHERE status NOT IN "
                "('queued', 'sending', 'failed', 'dead')"
            ).fetchall()
        return {row[0] for row in rows}


# --- The journey ---------------------------------------------------------------------------


class FormParser(html.parser.HTMLParser):
    """Fields of the first POST form (optionally the one whose action contains `action`, or whose
    id is `form_id`)."""

    def __init__(self, action: str | None = None, form_id: str | None = None) -> None:
        super().__init__()
        self.action = action
        self.form_id = form_id
        self.fields: dict[str, str] = {}
        self.inside = False
        self.done = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and not self.done and (attributes.get("method") or "").lower() == "post":
            if (self.action is None or self.action in (attributes.get("action") or "")) and (
                self.form_id is None or attributes.get("id") == self.form_id
            ):
                self.inside = True
        elif tag == "input" and self.inside and attributes.get("name"):
            kind = (attributes.get("type") or "text").lower()
            if kind in ("radio", "checkbox") and "checked" not in attributes:
                return
            self.fields.setdefault(attributes["name"], attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_fields(page: str, action: str | None = None, form_id: str | None = None) -> dict[str, str]:
    parser = FormParser(action, form_id)
    parser.feed(page)
    return parser.fields


class JourneyFailed(Exception):
    pass


@dataclass
class Journey:
    number: int
    phase: str
    steps: list[dict] = field(default_factory=list)
    error: str = ""
    retries: int = 0
    email_seconds: float | None = None

    @property
    def nodes(self) -> list[str]:
        return [s["node"] for s in self.steps if s["node"]]


class Driver:
    def __init__(self, cluster: Cluster, setup: dict) -> None:
        self.cluster = cluster
        self.base = cluster.base_url
        self.project_id = setup["project_id"]
        self.admin = tuple(setup["admin"])
        self.web = tuple(setup["web"])
        self._admin_token: tuple[float, str] | None = None
        self._token_lock = threading.Lock()

    def session(self, source: str = "127.0.0.1"):
        """A client (its own cookie jar) connecting from `source`, a loopback address of its own."""
        import requests
        from requests.adapters import HTTPAdapter

        class SourceAdapter(HTTPAdapter):
            def init_poolmanager(self, *args, **kwargs):
                kwargs["source_address"] = (source, 0)
                super().init_poolmanager(*args, **kwargs)

        session = requests.Session()
        session.mount("https://", SourceAdapter())
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`; no proxies either
        session.verify = self.cluster.ca
        return session

    def call(self, journey: Journey, step: str, session, method: str, url: str, **kwargs):
        """One request through the balancer; retried once (after a second) when it failed in transit
        or the balancer had no node for it."""
        import requests

        url = urljoin(self.base, url)
        headers = kwargs.pop("headers", {})
        if method == "POST":
            headers.setdefault("Referer", url)  # as a browser sends it: Django's CSRF check on HTTPS
        for attempt in (1, 2):
            started = time.monotonic()
            try:
                response = session.request(
                    method, url, headers=headers, allow_redirects=False, timeout=30, **kwargs
                )
            except requests.RequestException as exc:
                cause = f"{step}: {exc.__class__.__name__}"
                journey.steps.append({"step": step, "node": "", "status": 0, "ms": 0, "attempt": attempt})
                if attempt == 1:
                    journey.retries += 1
                    time.sleep(1)
                    continue
                raise JourneyFailed(cause) from exc
            journey.steps.append(
                {
                    "step": step,
                    "node": response.headers.get("X-Served-By", ""),
                    "status": response.status_code,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                    "attempt": attempt,
                }
            )
            if response.status_code in RETRYABLE_STATUS and attempt == 1:
                journey.retries += 1
                time.sleep(1)
                continue
            return response
        raise AssertionError("unreachable")

    @staticmethod
    def expect(response, statuses: tuple[int, ...], step: str):
        if response.status_code not in statuses:
            body = response.text[:200].replace("\n", " ")
            raise JourneyFailed(f"{step}: HTTP {response.status_code} {body}")
        return response

    def admin_token(self, journey: Journey) -> str:
        with self._token_lock:
            if self._admin_token and self._admin_token[0] > time.monotonic():
                return self._admin_token[1]
            session = self.session("127.0.0.2")
            response = self.call(
                journey,
                "admin_token",
                session,
                "POST",
                "/o/token/",
                data={"grant_type": "client_credentials", "scope": "portal.read portal.write"},
                auth=self.admin,
            )
            self.expect(response, (200,), "admin_token")
            body = response.json()
            self._admin_token = (time.monotonic() + body["expires_in"] - 60, body["access_token"])
            return body["access_token"]

    def run(self, journey: Journey) -> Journey:
        try:
            self._run(journey)
        except JourneyFailed as exc:
            journey.error = str(exc)
        except Exception as exc:  # a bug in the journey itself: report it, keep going
            journey.error = f"driver error: {exc.__class__.__name__}: {exc}"
        return journey

    def _run(self, j: Journey) -> None:
        address = f"user-{j.phase}-{j.number}-{secrets.token_hex(3)}@cluster.test"
        # Each journey is a person at an address of their own (the per-IP sign-in rate limits are
        # shared by the nodes through Redis: one address for all journeys would trip them).
        n = PHASES.index(j.phase) * 1000 + j.number
        ip = f"127.{10 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}"
        admin_api = self.session("127.0.0.2")
        token = self.admin_token(j)
        # 1. invite (portal API)
        response = self.call(
            j,
            "invite",
            admin_api,
            "POST",
            f"/api/v1/projects/{self.project_id}/invites/",
            json={"email": address, "first_name": "Cluster", "last_name": str(j.number)},
            headers={"Authorization": f"Bearer {token}"},
        )
        self.expect(response, (201,), "invite")
        # 2. the email
        invited_at = time.monotonic()
        message = self.cluster.smtp.wait_for(
            address, timeout=SENDING_TIMEOUT_SECONDS + 4 * RELAY_SECONDS + 30
        )
        if message is None:
            raise JourneyFailed("email: the invitation did not arrive")
        j.email_seconds = round(time.monotonic() - invited_at, 2)
        match = re.search(r"https://[^\s\"'<>]+/setpassword/[^\s\"'<>]+", message_text(message))
        if not match:
            raise JourneyFailed("email: no set-password link in the invitation")
        link = urlparse(match.group(0)).path
        # 3. set password (its own browser)
        invited = self.session(ip)
        page = self.expect(
            self.call(j, "set_password_page", invited, "GET", link), (200,), "set_password_page"
        )
        fields = form_fields(page.text)
        fields.update(new_password1=PASSWORD, new_password2=PASSWORD)
        response = self.call(j, "set_password", invited, "POST", link, data=fields)
        if not (response.status_code == 410 and j.steps[-1]["attempt"] == 2):
            # (a 410 on the retry: the first attempt set the password before its node died)
            self.expect(response, (303, 302), "set_password")
        # 4. sign in (a new browser) on the way to the authorization request
        browser = self.session(ip)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
        authorize = "/o/authorize/?" + urlencode(
            {
                "response_type": "code",
                "client_id": self.web[0],
                "redirect_uri": REDIRECT,
                "scope": "openid profile email offline_access",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        response = self.expect(self.call(j, "authorize", browser, "GET", authorize), (302,), "authorize")
        login_url = response.headers["Location"]
        if "/accounts/login/" not in login_url:
            raise JourneyFailed(f"authorize: not sent to sign in but to {login_url}")
        page = self.expect(self.call(j, "login_page", browser, "GET", login_url), (200,), "login_page")
        fields = form_fields(page.text, "/accounts/login/")
        fields["login"] = address
        page = self.expect(
            self.call(j, "login_email", browser, "POST", "/accounts/login/", data=fields),
            (200,),
            "login_email",
        )
        fields = form_fields(page.text, "/accounts/login/")
        if "password" not in page.text or "login" not in fields:
            raise JourneyFailed("login_email: no password step")
        fields["password"] = PASSWORD
        response = self.call(j, "login_password", browser, "POST", "/accounts/login/", data=fields)
        self.expect(response, (302, 303), "login_password")
        next_url = response.headers["Location"]
        # 5. authorize again, signed in: consent, then the code
        page = self.call(j, "authorize_consent", browser, "GET", next_url)
        if page.status_code == 200:
            fields = form_fields(page.text, form_id="authorizationForm")
            fields.update(consent="1", allow="Authorize")
            page = self.call(j, "consent", browser, "POST", next_url, data=fields)
        self.expect(page, (302, 303), "consent")
        query = parse_qs(urlparse(page.headers["Location"]).query)
        if "code" not in query or query.get("state") != [state]:
            raise JourneyFailed(f"consent: no code in the redirect ({sorted(query)})")
        # 6. token, refresh
        rp = self.session("127.0.0.3")
        response = self.call(
            j,
            "token",
            rp,
            "POST",
            "/o/token/",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "code_verifier": verifier,
                "redirect_uri": REDIRECT,
            },
            auth=self.web,
        )
        tokens = self.expect(response, (200,), "token").json()
        response = self.call(
            j,
            "refresh",
            rp,
            "POST",
            "/o/token/",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=self.web,
        )
        refreshed = self.expect(response, (200,), "refresh").json()
        access = refreshed["access_token"]
        # 7. introspect, userinfo
        response = self.call(
            j, "introspect", rp, "POST", "/o/introspect/", data={"token": access}, auth=self.web
        )
        if not self.expect(response, (200,), "introspect").json().get("active"):
            raise JourneyFailed("introspect: the refreshed access token is not active")
        response = self.call(
            j, "userinfo", rp, "GET", "/o/userinfo/", headers={"Authorization": f"Bearer {access}"}
        )
        if self.expect(response, (200,), "userinfo").json().get("email") != address:
            raise JourneyFailed("userinfo: another user's claims")
        # 8. sign out (RP-initiated, with the ID token of this session): no prompt, back to the app
        logout = "/o/logout/?" + urlencode(
            {
                "id_token_hint": refreshed.get("id_token") or tokens["id_token"],
                "post_logout_redirect_uri": LOGGED_OUT,
                "state": state,
            }
        )
        response = self.expect(self.call(j, "logout", browser, "GET", logout), (302,), "logout")
        if not response.headers["Location"].startswith(LOGGED_OUT):
            raise JourneyFailed(f"logout: landed on {response.headers['Location'][:80]}, not the app")
        # 9. the session's tokens are revoked
        response = self.call(
            j, "introspect_after_logout", rp, "POST", "/o/introspect/", data={"token": access}, auth=self.web
        )
        if self.expect(response, (200,), "introspect_after_logout").json().get("active"):
            raise JourneyFailed("introspect_after_logout: the token is still active after sign-out")


# --- Phases and report ---------------------------------------------------------------------


def run_phase(driver: Driver, cluster: Cluster, phase: str, count: int, concurrency: int, fault) -> dict:
    log(f"phase {phase}: {count} journeys, {concurrency} at a time")
    journeys = [Journey(number=n, phase=phase) for n in range(count)]
    events: list[dict] = []
    fault_at = max(1, count // 3)
    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        futures = []
        for journey in journeys:
            futures.append(pool.submit(driver.run, journey))
            if fault is not None and journey.number == fault_at:
                # once the journeys before it are under way: the fault hits requests in flight
                while sum(f.done() for f in futures) < fault_at - concurrency and not all(
                    f.done() for f in futures
                ):
                    time.sleep(0.05)
                events.extend(fault(cluster))
        for future in futures:
            future.result()
    elapsed = time.monotonic() - started
    with open(cluster.run_dir / "journeys.jsonl", "a") as record:  # every request: step, node, status
        for journey in journeys:
            record.write(json.dumps(journey.__dict__) + "\n")
    failed = [j for j in journeys if j.error]
    switches = pairs = 0
    for journey in journeys:
        nodes = journey.nodes
        pairs += max(len(nodes) - 1, 0)
        switches += sum(1 for a, b in zip(nodes, nodes[1:], strict=False) if a != b)
    served = Counter(node for j in journeys for node in j.nodes)
    statuses = Counter(s["status"] for j in journeys for s in j.steps)
    result = {
        "phase": phase,
        "journeys": count,
        "completed": count - len(failed),
        "failed": len(failed),
        "failures": [{"journey": j.number, "cause": j.error} for j in failed],
        "requests": sum(len(j.steps) for j in journeys),
        "retried_requests": sum(j.retries for j in journeys),
        "retries": [
            {"journey": j.number, "step": s["step"], "status": s["status"], "node": s["node"]}
            for j in journeys
            for s in j.steps
            if s["attempt"] == 1 and (s["status"] in RETRYABLE_STATUS or s["status"] == 0)
        ],
        "served_by": dict(served),
        "node_switches": f"{switches}/{pairs}",
        "journeys_on_both_nodes": sum(1 for j in journeys if len(set(j.nodes)) > 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "email_seconds_max": max((j.email_seconds or 0 for j in journeys), default=0),
        "emails_later_than_5s": sum(1 for j in journeys if (j.email_seconds or 0) > 5),
        "events": events,
        "seconds": round(elapsed, 1),
    }
    log(
        f"phase {phase}: {result['completed']}/{count} completed, {result['failed']} failed, "
        f"{result['retried_requests']} request(s) retried, served by {dict(served)}, "
        f"node switches {result['node_switches']}, {elapsed:.0f}s; slowest email {result['email_seconds_max']}s"
    )
    for retry in result["retries"]:
        log(
            f"  retried: journey {retry['journey']} {retry['step']} (HTTP {retry['status']} via {retry['node']!r})"
        )
    for failure in result["failures"]:
        log(f"  journey {failure['journey']} failed: {failure['cause']}")
    return result


def worker_sending(cluster: Cluster) -> str | None:
    """The worker that is in the middle of sending an email (its SMTP session waits in the sink)."""
    for port in list(cluster.smtp.waiting):
        pid = pid_of_client(port, cluster.smtp.port)
        with contextlib.suppress(OSError):
            group = os.getpgid(pid) if pid else None
            for name, proc in cluster.workers.items():
                if proc.popen is not None and proc.popen.pid == group:
                    return name
    return None


def kill_web_and_worker(cluster: Cluster) -> list[dict]:
    events = []
    # The worker to kill: one caught in the middle of an email (the interesting case: its task was
    # taken and its row is `sending`), else worker1.
    # And web1 while it answers a request. Both at once, waiting at most 15 s for that moment.
    deadline = time.monotonic() + 15
    while True:
        in_flight = cluster.server_states(column=4).get("web1", "0") or "0"
        holder = worker_sending(cluster)
        if (holder and in_flight != "0") or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    victim = holder or "worker1"
    cluster.killed_worker = victim
    cluster.web["web1"].kill9()
    log(
        f"kill -9 web1 (the server's main process and workers); HAProxy had {in_flight} session(s) open on it"
    )
    cluster.workers[victim].kill9()
    what = "while it was sending an email" if holder else "(no email in flight at that moment)"
    log(f"kill -9 {victim} (Celery worker and its pool) {what}")
    events.append(
        {
            "event": f"kill -9 web1 (HAProxy: {in_flight} session(s) open on it) and {victim} {what}",
            "at": time.strftime("%H:%M:%S"),
        }
    )
    down = cluster.wait_node_down("web1")
    events.append(
        {"event": "HAProxy marked web1 DOWN", "after_seconds": None if down is None else round(down, 1)}
    )
    log(f"HAProxy marked web1 DOWN after {down and round(down, 1)}s")
    return events


def restart_redis(cluster: Cluster) -> list[dict]:
    started = time.monotonic()
    try:
        cluster.redis.shutdown()
        log(f"Redis shut down (nosave) in {time.monotonic() - started:.1f}s")
        time.sleep(1)
    finally:
        cluster.redis.start()
    log(f"Redis started again ({time.monotonic() - started:.1f}s without Redis)")
    return [
        {"event": "Redis shutdown nosave + start", "outage_seconds": round(time.monotonic() - started, 1)}
    ]


def settle_outbox(cluster: Cluster, timeout: float) -> dict:
    """Wait until no message is queued, sending or failed (the relay re-publishes lost ones)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = cluster.outbox_counts()
        pending = sum(counts.get(s, 0) for s in ("queued", "sending", "failed"))
        if not pending or time.monotonic() > deadline:
            return counts
        time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--journeys", type=int, default=20, help="journeys per phase (default 20)")
    parser.add_argument("--concurrency", type=int, default=2, help="journeys at a time (default 2)")
    parser.add_argument(
        "--web-workers", type=int, default=2, help="web server workers per web node (default 2)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CLUSTER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/identity_cluster"),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/9")
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="do not drop the run's database at the end"
    )
    args = parser.parse_args()
    # SIGTERM (e.g. `timeout`) unwinds like Ctrl-C, through the `finally` that restarts Redis.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    run_dir = ROOT / "bench" / "results" / f"cluster-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(args, run_dir)
    if not cluster.redis.ping():
        log("Redis is not running: starting it")
        cluster.redis.start()
    report: dict = {"journeys_per_phase": args.journeys, "concurrency": args.concurrency, "phases": []}
    ok = False
    try:
        setup = cluster.prepare()
        cluster.start()
        log(
            f"cluster up: {cluster.base_url} (HAProxy) -> web1, web2; worker1, worker2, beat; logs in {run_dir}"
        )
        driver = Driver(cluster, setup)
        report["phases"].append(run_phase(driver, cluster, "steady", args.journeys, args.concurrency, None))
        cluster.smtp.data_delay = 1.0  # each email takes a second: the worker kill finds one mid-send
        report["phases"].append(
            run_phase(driver, cluster, "faults", args.journeys, args.concurrency, kill_web_and_worker)
        )
        cluster.smtp.data_delay = 0.0
        # the killed nodes come back (HAProxy puts web1 in again after 2 good checks)
        cluster.web["web1"].start()
        cluster.workers[cluster.killed_worker].start()
        back = cluster.wait_nodes_up(["web1", "web2"], timeout=90)
        log(f"web1 and {cluster.killed_worker} restarted; HAProxy has web1 UP again after {back:.1f}s")
        report["phases"].append(
            run_phase(driver, cluster, "redis", args.journeys, args.concurrency, restart_redis)
        )
        log("waiting for the outbox to settle")
        counts = settle_outbox(cluster, timeout=SENDING_TIMEOUT_SECONDS + 6 * RELAY_SECONDS + 30)
        time.sleep(2 * RELAY_SECONDS)  # anything still in flight arrives now, duplicates included
        received = cluster.smtp.outbox_ids()
        sent = cluster.sent_ids()
        emails = {
            "outbox": counts,
            "received_by_sink": sum(received.values()),
            "distinct_received": len(received),
            "duplicates": {k: v for k, v in received.items() if v > 1},
            "lost": sorted(sent - set(received)),
            "not_sent": sum(counts.get(s, 0) for s in ("queued", "sending", "failed", "dead")),
        }
        report["emails"] = emails
        journeys_failed = sum(p["failed"] for p in report["phases"])
        ok = (
            not journeys_failed and not emails["duplicates"] and not emails["lost"] and not emails["not_sent"]
        )
    finally:
        try:
            cluster.stop()
        finally:
            if not cluster.redis.ping():
                log("Redis is down: starting it again")
                cluster.redis.start()
        if not args.keep_database:
            with contextlib.suppress(Exception):
                import psycopg

                name = args.database_url.rsplit("/", 1)[1]
                with psycopg.connect(args.database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report["passed"] = ok
    (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    print_report(report)
    log(f"report: {run_dir / 'report.json'}")
    return 0 if ok else 1


def print_report(report: dict) -> None:
    print("\n== cluster report")
    print(
        f"{'phase':8} {'journeys':>8} {'completed':>9} {'failed':>6} {'retried':>7} {'switches':>10}  served by"
    )
    for p in report["phases"]:
        print(
            f"{p['phase']:8} {p['journeys']:>8} {p['completed']:>9} {p['failed']:>6} {p['retried_requests']:>7} "
            f"{p['node_switches']:>10}  {p['served_by']}"
        )
        print(
            f"         slowest email {p['email_seconds_max']}s, {p['emails_later_than_5s']} later than 5 s; "
            f"{p['requests']} requests in {p['seconds']}s"
        )
        for event in p["events"]:
            print(f"         event: {event}")
        for retry in p["retries"]:
            print(
                f"         retried once: journey {retry['journey']} {retry['step']} (HTTP {retry['status']})"
            )
        for failure in p["failures"]:
            print(f"         failed journey {failure['journey']}: {failure['cause']}")
    emails = report.get("emails")
    if emails:
        print(
            f"emails: {emails['received_by_sink']} received by the sink, {emails['distinct_received']} distinct, "
            f"{len(emails['duplicates'])} duplicated, {len(emails['lost'])} lost, "
            f"{emails['not_sent']} not sent; outbox {emails['outbox']}"
        )
    print("PASSED" if report.get("passed") else "FAILED")


if __name__ == "__main__":
    sys.exit(main())
