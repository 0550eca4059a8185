"""Per-request profile of the hot OAuth endpoints, in one process (no server, no network).

    .venv/bin/python bench/tools/profile_grant.py [--requests 300] [--endpoint token|introspect|refresh]
        [--sort cumulative] [--callgrind]

Calls the WSGI application gunicorn serves (identity.wsgi, production settings) directly and reports
SQL statements per request (Django's CaptureQueriesContext), time per request and a cProfile summary
of the top functions. The time is wall-clock, so it depends on the machine's load; under
`valgrind --tool=callgrind --instr-atstart=no` (`--callgrind` toggles instrumentation around the
measured loop only) the instruction count per request does not.
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/identity_bench_profile; dropped and
re-created) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/11) for the cache. Not run by `make bench`
(it lives in bench/tools/).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def setup(database_url: str, redis_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        DJANGO_SETTINGS_MODULE="identity.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        APP_ENV="production",
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        ENCRYPTION_KEYS="bench-encryption-key-" + "y" * 40,
        CLIENT_SECRET_PEPPER="bench-client-secret-pepper-" + "z" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        APP_BASE_URL="http://127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        DB_CONN_MAX_AGE="600",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def environ(path: str, body: str, auth: str) -> dict:
    raw = body.encode()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(raw)),
        "HTTP_AUTHORIZATION": auth,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--endpoint", choices=["token", "introspect", "refresh"], default="token")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--wall", action="store_true", help="profile wall-clock time (default: CPU time)")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    setup(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/identity_bench_profile"),
        os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
    )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.services import project_create, user_get_or_create
    from audit.context import Actor
    from oauth.services import ClientInput, client_create

    owner, _ = user_get_or_create(email="bench-owner@example.test", email_verified=True)
    project = project_create(name="Bench", slug="bench", owner=owner)
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(name="bench", grant_types=["client_credentials"], scopes=["openid", "portal.read"]),
    )
    auth = "Basic " + base64.b64encode(f"{issued.client.client_id}:{issued.client_secret}".encode()).decode()
    from identity.wsgi import application as app  # what gunicorn serves

    def refresh_tokens(project, user, count: int) -> tuple[str, list[str]]:
        """A code-flow client and `count` refresh tokens of `user`, as token_load.py makes them."""
        import datetime
        import uuid

        from django.utils import timezone
        from oauth2_provider.models import set_token_value

        from oauth.models import AccessToken, RefreshToken

        issued = client_create(
            project=project,
            actor=Actor.system(),
            data=ClientInput(
                name="web",
                grant_types=["authorization_code", "refresh_token"],
                redirect_uris=["https://app.bench.test/callback"],
                scopes=["openid", "email", "offline_access"],
            ),
        )
        values = []
        for _ in range(count):
            at = AccessToken(
                user=user,
                application=issued.client,
                scope="openid email offline_access",
                expires=timezone.now() + datetime.timedelta(hours=1),
                jti=uuid.uuid4().hex,
            )
            set_token_value(at, uuid.uuid4().hex)
            at.save()
            rt = RefreshToken(
                user=user, application=issued.client, access_token=at, token_family=uuid.uuid4()
            )
            values.append(uuid.uuid4().hex + uuid.uuid4().hex)
            set_token_value(rt, values[-1])
            rt.save()
        credentials = f"{issued.client.client_id}:{issued.client_secret}".encode()
        return "Basic " + base64.b64encode(credentials).decode(), values

    def call(path: str, body: str) -> tuple[str, bytes]:
        status = {}

        def start_response(s, headers, exc_info=None):
            status["s"] = s

        chunks = b"".join(app(environ(path, body, request_auth or auth), start_response))
        return status["s"], chunks

    request_auth = None
    status, body = call("/o/token/", "grant_type=client_credentials&scope=portal.read")
    assert status.startswith("200"), (status, body)
    token = json.loads(body)["access_token"]
    bodies = None
    if args.endpoint == "token":
        path, request_body, expect = (
            "/o/token/",
            "grant_type=client_credentials&scope=portal.read",
            b"access_token",
        )
    elif args.endpoint == "introspect":
        path, request_body, expect = "/o/introspect/", f"token={token}", b'"active": true'
    else:
        request_auth, values = refresh_tokens(project, owner, args.requests + 22)
        bodies = iter(f"grant_type=refresh_token&refresh_token={value}" for value in values)
        path, request_body, expect = "/o/token/", "", b"refresh_token"
    for _ in range(20):  # warm-up: caches, compiled statements
        call(path, next(bodies) if bodies else request_body)
    with CaptureQueriesContext(connection) as queries:
        status, body = call(path, next(bodies) if bodies else request_body)
    assert status.startswith("200") and expect in body, (status, body)
    print(f"{path}: {len(queries.captured_queries)} SQL statements per request")
    for query in queries.captured_queries:
        print("   ", query["sql"][:160])
    # CPU time of this process by default: what the server spends, without the waits for
    # PostgreSQL and Redis (which are counted above as statements) and without other load.
    profiler = cProfile.Profile(time.perf_counter if args.wall else time.process_time)
    cpu = time.process_time()
    start = time.perf_counter()
    if not args.no_profile:
        profiler.enable()
    for _ in range(args.requests):
        call(path, next(bodies) if bodies else request_body)
    if not args.no_profile:
        profiler.disable()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    print(
        f"{args.requests} requests in {elapsed:.2f} s: {1000 * elapsed / args.requests:.2f} ms per request, "
        f"{1000 * cpu / args.requests:.2f} ms CPU ({'with' if not args.no_profile else 'without'} the profiler)"
    )
    if not args.no_profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
