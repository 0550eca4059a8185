"""Brute-force protection across real web processes: two web nodes (granian) on one Redis and one
PostgreSQL database count failed sign-ins together, and the lock outlives a node's restart.

docs/SECURITY.md, "Brute-force protection": counters shared across processes, kept across restarts.
"""

from __future__ import annotations

import html
import re

import pytest
import requests
from django.contrib.auth.hashers import make_password
from django.db import connection

from accounts.services import lockout
from audit.models import AuditAction, AuditEvent
from notifications.models import MessageKind, OutboundMessage
from tests.conftest import require_service
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.support.live_server import close_session
from tests.support.services import WebServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

PASSWORD = "the right passphrase 42"
THRESHOLD = 4


@pytest.fixture
def web_nodes(redis_url, tmp_path):
    require_service(
        connection.vendor == "postgresql",
        "needs PostgreSQL (set DATABASE_URL): the web processes must share the database",
    )
    db = connection.settings_dict
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis_url,  # the cache both nodes count in (and their Celery broker)
        "LOCKOUT_THRESHOLD": str(THRESHOLD),
        "LOCKOUT_DELAY_BASE_SECONDS": "0",  # no waits between the alternating attempts
        "DB_CONN_MAX_AGE": "0",
    }
    nodes: list[WebServer] = []

    def start(name: str) -> WebServer:
        node = WebServer(env=env, workdir=tmp_path, name=name)
        node.start()
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        node.stop()


def sign_in(node: WebServer, email: str, password: str) -> str:
    """A password sign-in at `node` as a browser makes it (CSRF cookie and token); the page's
    error, or "signed in"."""
    session = requests.Session()
    try:
        page = session.get(f"{node.url}/accounts/login/", timeout=60)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = session.post(
            f"{node.url}/accounts/login/",
            data={"csrfmiddlewaretoken": token, "login": email, "password": password},
            headers={"Referer": f"{node.url}/accounts/login/"},
            allow_redirects=False,
            timeout=60,
        )
    finally:
        close_session(session)
    if response.status_code == 302:
        return "signed in"
    found = re.search(r'role="alert"[^>]*>(.*?)<', response.text, re.S)
    return html.unescape(" ".join(found.group(1).split())) if found else f"HTTP {response.status_code}"


def test_two_web_processes_count_failed_sign_ins_together(web_nodes, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]  # as the nodes
    project = ProjectFactory(name="Clinic West")
    user = MembershipFactory(project=project, user=UserFactory(email="alex@west.test")).user
    user.password = make_password(PASSWORD)
    user.save(update_fields=["password"])
    node_a, node_b = web_nodes("web-a"), web_nodes("web-b")
    assert sign_in(node_a, user.email, PASSWORD) == "signed in"  # the password works

    answers = [sign_in(node, user.email, "a wrong guess 123") for node in (node_a, node_b) * 2]
    wrong = "The email address and/or password you specified are not correct."
    assert answers == [wrong] * THRESHOLD  # two failures on each node: neither alone reached 4
    locked = "Too many failed attempts. Try again in 15 minutes."
    assert sign_in(node_a, user.email, PASSWORD) == locked
    assert sign_in(node_b, user.email, PASSWORD) == locked
    assert OutboundMessage.objects.filter(kind=MessageKind.ACCOUNT_LOCKED, to_email=user.email).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ACCOUNT_LOCKED, project=project).count() == 1

    # A node restarted (a new process, nothing in memory) still refuses: the lock is in Redis.
    node_a.stop()
    node_c = web_nodes("web-c")
    assert sign_in(node_c, user.email, PASSWORD) == locked
    assert lockout.account_locked_until(user=user) is not None  # and so does this process
