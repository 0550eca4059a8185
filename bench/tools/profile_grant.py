"""Per-request profile of the hot OAuth endpoints, in one process (no server, no network).

    .venv/bin/python bench/tools/profile_grant.py [--requests 300]
        [--endpoint token|introspect|refresh|code-flow] [--sort cumulative] [--no-profile]

Calls the WSGI application the web server serves (identity.wsgi, production settings) directly and reports
SQL statements per request (Django's CaptureQueriesContext), time per request and a cProfile summary
of the top functions. CPU time (the default) is what this process spent, without the waits for
PostgreSQL and Redis; it still moves with the machine's load, so compare runs made back to back.
`--endpoint refresh` rotates a different refresh token per request (as bench/token_load.py does);
`--endpoint code-flow` signs a user in with their password (allauth's real sign-in, so the session
has its authentication records), then per flow sends GET /o/authorize/ with the session cookie to a
skip-consent client (302 with a code) and POST /o/token/ with the code and PKCE verifier (ID token
and refresh token), and reports the statements of each step and the CPU per whole flow.
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
CODE_VERIFIER = "bench-code-verifier-" + "v" * 40  # token_load.py's
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


def environ(
    path: str, body: str, auth: str, *, method: str = "POST", query: str = "", cookie: str = ""
) -> dict:
    """The WSGI environ of one request, as Django's RequestFactory builds it."""
    from django.test import RequestFactory

    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    if cookie:
        headers["HTTP_COOKIE"] = cookie
    return (
        RequestFactory(SERVER_NAME="127.0.0.1", HTTP_HOST="127.0.0.1")
        .generic(
            method,
            path,
            body,
            content_type="application/x-www-form-urlencoded",
            QUERY_STRING=query,
            **headers,
        )
        .environ
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--endpoint", choices=["token", "introspect", "refresh", "code-flow"], default="token"
    )
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
    from identity.wsgi import application as app  # what the web server serves

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

    def call(path: str, body: str, **request) -> tuple[str, bytes, list]:
        status = {}

        def start_response(s, headers, exc_info=None):
            status["s"], status["headers"] = s, headers

        chunks = b"".join(app(environ(path, body, request_auth or auth, **request), start_response))
        return status["s"], chunks, status["headers"]

    def sign_in(user) -> str:
        """The session cookie of a password sign-in through allauth's form (CSRF and all)."""
        import http.cookies
        import re

        from django.conf import settings

        password = "bench-password-Quokka-Lantern-42"
        user.set_password(password)
        user.save(update_fields=["password"])
        cookies: dict[str, str] = {}

        def remember(headers) -> None:
            for name, value in headers:
                if name.lower() == "set-cookie":
                    for key, morsel in http.cookies.SimpleCookie(value).items():
                        cookies[key] = morsel.value

        status, page, headers = call("/accounts/login/", "", method="GET")
        remember(headers)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        form = f"csrfmiddlewaretoken={token}&login={user.email}&password={password}"
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        status, page, headers = call("/accounts/login/", form, cookie=cookie)
        remember(headers)
        assert status.startswith("302") and settings.SESSION_COOKIE_NAME in cookies, (status, page[:300])
        return f"{settings.SESSION_COOKIE_NAME}={cookies[settings.SESSION_COOKIE_NAME]}"

    def code_flow_client(project) -> tuple[str, str]:
        """A skip-consent code-flow client (as token_load.py's) and the query of its authorization request."""
        import hashlib
        from urllib.parse import urlencode

        issued = client_create(
            project=project,
            actor=Actor.system(),
            data=ClientInput(
                name="bench-web",
                grant_types=["authorization_code", "refresh_token"],
                redirect_uris=["https://app.bench.test/callback"],
                scopes=["openid", "email", "offline_access"],
                skip_consent=True,
            ),
        )
        challenge = base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=")
        query = urlencode(
            {
                "response_type": "code",
                "client_id": issued.client.client_id,
                "redirect_uri": "https://app.bench.test/callback",
                "scope": "openid email offline_access",
                "state": "bench-state",
                "code_challenge": challenge.decode(),
                "code_challenge_method": "S256",
            }
        )
        credentials = f"{issued.client.client_id}:{issued.client_secret}".encode()
        return "Basic " + base64.b64encode(credentials).decode(), query

    request_auth = None
    status, body, _ = call("/o/token/", "grant_type=client_credentials&scope=portal.read")
    assert status.startswith("200"), (status, body)
    token = json.loads(body)["access_token"]
    if args.endpoint == "token":
        grant = "grant_type=client_credentials&scope=portal.read"
        steps = [("/o/token/", lambda _: call("/o/token/", grant), b"access_token")]
    elif args.endpoint == "introspect":
        steps = [("/o/introspect/", lambda _: call("/o/introspect/", f"token={token}"), b'"active": true')]
    elif args.endpoint == "refresh":
        request_auth, values = refresh_tokens(project, owner, args.requests + 22)
        bodies = iter(f"grant_type=refresh_token&refresh_token={value}" for value in values)
        steps = [("/o/token/ (refresh)", lambda _: call("/o/token/", next(bodies)), b"refresh_token")]
    else:
        from urllib.parse import parse_qs, quote, urlsplit

        request_auth, authorize_query = code_flow_client(project)
        cookie = sign_in(owner)
        exchange = (
            "grant_type=authorization_code&redirect_uri="
            + quote("https://app.bench.test/callback", safe="")
            + f"&code_verifier={CODE_VERIFIER}&code="
        )

        def authorize(_):
            status, body, headers = call(
                "/o/authorize/", "", method="GET", query=authorize_query, cookie=cookie
            )
            location = dict((k.lower(), v) for k, v in headers).get("location", "")
            codes.append(parse_qs(urlsplit(location).query).get("code", [""])[0])
            return status, location.encode(), headers

        codes: list[str] = []
        steps = [
            ("GET /o/authorize/", authorize, b"code="),
            ("POST /o/token/ (code)", lambda _: call("/o/token/", exchange + codes.pop()), b"id_token"),
        ]

    def one() -> None:
        for _name, step, _expect in steps:
            step(None)

    for _ in range(20):  # warm-up: caches, compiled statements
        one()
    for name, step, expect in steps:
        with CaptureQueriesContext(connection) as queries:
            status, body, _ = step(None)
        assert (status.startswith("200") or status.startswith("302")) and expect in body, (status, body)
        print(f"{name}: {len(queries.captured_queries)} SQL statements per request")
        for query in queries.captured_queries:
            print("   ", (query["sql"] or "(a prepared statement: identity/db.py)")[:160])
    # CPU time of this process by default: what the server spends, without the waits for
    # PostgreSQL and Redis (which are counted above as statements) and without other load.
    profiler = cProfile.Profile(time.perf_counter if args.wall else time.process_time)
    cpu = time.process_time()
    start = time.perf_counter()
    if not args.no_profile:
        profiler.enable()
    for _ in range(args.requests):
        one()
    if not args.no_profile:
        profiler.disable()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    print(
        f"{args.requests} {'flows' if len(steps) > 1 else 'requests'} in {elapsed:.2f} s: "
        f"{1000 * elapsed / args.requests:.2f} ms per {'flow' if len(steps) > 1 else 'request'}, "
        f"{1000 * cpu / args.requests:.2f} ms CPU ({'with' if not args.no_profile else 'without'} the profiler)"
    )
    if not args.no_profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
