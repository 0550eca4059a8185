"""Brute-force protection (accounts/services/lockout.py; docs/SECURITY.md, "Brute-force protection").

Growing delays then a temporary lock, per account and per IP, the same answer for addresses with
and without an account, one email per lock whose link ends it, admins' unlock (audited, tenant
scoped), and the same guard on set-password links, reset requests and OAuth client authentication.
Time moves with the application clock; nothing sleeps.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import SecurityRequest, SecurityRequestKind
from accounts.services import lockout
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from notifications.models import MessageKind, OutboundMessage
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

WRONG = "not-the-password-123"


@pytest.fixture(autouse=True)
def _policy(settings):
    """The defaults, spelled out; allauth's own rate limits (per minute of real time, e.g. 5 failed
    sign-ins per address in 5 minutes) are off so these tests see ours alone (in production both
    act: allauth's first, ours on top)."""
    settings.LOCKOUT_THRESHOLD = 10
    settings.LOCKOUT_FREE_FAILURES = 3
    settings.LOCKOUT_IP_THRESHOLD = 50
    settings.LOCKOUT_IP_FREE_FAILURES = 15
    settings.LOCKOUT_WINDOW_SECONDS = 900
    settings.LOCKOUT_DURATION_SECONDS = 900
    settings.LOCKOUT_DELAY_BASE_SECONDS = 1
    settings.LOCKOUT_DELAY_MAX_SECONDS = 60
    settings.ACCOUNT_RATE_LIMITS = False


def sign_in(client: Client, email: str, password: str = WRONG, ip: str = "198.51.100.7"):
    return client.post(reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip)


def refusal(response) -> str:
    """The form's error text (what the person reads)."""
    found = re.search(r'role="alert"[^>]*>(.*?)<', response.content.decode(), re.S)
    return " ".join(found.group(1).split()) if found else ""


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- the guard itself ---------------------------------------------------------------------------------


def test_delays_double_after_the_free_failures_then_the_account_locks(clock):
    keys = {lockout.ACCOUNT: "Pat@Example.test"}
    waits = []
    for _ in range(9):
        assert lockout.attempt_check(scope=lockout.SIGN_IN, keys=keys).allowed
        verdict = lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys)
        waits.append(verdict.retry_after)
        assert not verdict.locked
        clock.advance(timedelta(seconds=verdict.retry_after))  # wait exactly as long as told
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32]
    locked = lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys)
    assert locked.locked and not locked.allowed
    assert locked.retry_after == 900
    assert locked.locked_until == clock.now() + timedelta(seconds=900)
    # the same address however it is typed
    assert lockout.lock_status(scope=lockout.SIGN_IN, keys={lockout.ACCOUNT: " pat@example.TEST"})
    # scopes count separately
    assert lockout.attempt_check(scope=lockout.MFA, keys=keys).allowed

    clock.advance(timedelta(seconds=899))
    assert not lockout.attempt_check(scope=lockout.SIGN_IN, keys=keys).allowed
    clock.advance(timedelta(seconds=1))
    assert lockout.attempt_check(scope=lockout.SIGN_IN, keys=keys).allowed
    # after a lock, counting starts over: three free failures again
    for _ in range(3):
        assert lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys).allowed


def test_failures_leave_the_window(clock):
    keys = {lockout.ACCOUNT: "sam@example.test"}
    for _ in range(3):
        lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys)
    clock.advance(timedelta(minutes=16))  # those three are out of the 15-minute window
    for _ in range(3):
        assert lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys).allowed
    assert lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys).retry_after == 1


def test_a_success_starts_the_account_count_over_but_not_the_ip_count(clock, settings):
    settings.LOCKOUT_IP_FREE_FAILURES = 3
    keys = {lockout.ACCOUNT: "kim@example.test", lockout.IP: "203.0.113.9"}
    for _ in range(3):
        lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys)
    lockout.attempt_succeeded(scope=lockout.SIGN_IN, keys={lockout.ACCOUNT: "kim@example.test"})
    # the account starts over, the IP does not: its fourth failure makes the next attempt wait
    assert lockout.attempt_failed(scope=lockout.SIGN_IN, keys={lockout.ACCOUNT: "kim@example.test"}).allowed
    verdict = lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys)
    assert verdict.retry_after == 1


def test_the_ip_locks_at_its_own_threshold_across_many_addresses(clock, settings):
    settings.LOCKOUT_DELAY_BASE_SECONDS = 0  # no delays: count straight to the lock
    for n in range(49):
        keys = {lockout.ACCOUNT: f"user{n}@example.test", lockout.IP: "203.0.113.50"}
        assert lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys).allowed
    verdict = lockout.attempt_failed(
        scope=lockout.SIGN_IN, keys={lockout.ACCOUNT: "user49@example.test", lockout.IP: "203.0.113.50"}
    )
    assert verdict.locked
    # spraying one guess per address from one IP is stopped; another IP is not
    assert not lockout.attempt_check(
        scope=lockout.SIGN_IN, keys={lockout.ACCOUNT: "new@example.test", lockout.IP: "203.0.113.50"}
    ).allowed
    assert lockout.attempt_check(
        scope=lockout.SIGN_IN, keys={lockout.ACCOUNT: "new@example.test", lockout.IP: "203.0.113.51"}
    ).allowed
    # an IP lock is not an account lock: nobody is emailed, nothing is audited as account.locked
    assert not OutboundMessage.objects.filter(kind=MessageKind.ACCOUNT_LOCKED).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.ACCOUNT_LOCKED).exists()


def test_nothing_readable_is_stored_in_the_cache(clock, redis_url):
    import redis

    lockout.attempt_failed(scope=lockout.SIGN_IN, keys={lockout.ACCOUNT: "private@example.test"})
    names = [name.decode() for name in redis.Redis.from_url(redis_url).keys("*lockout*")]
    assert names and not any("private" in name or "example" in name for name in names)


def test_counters_are_shared_by_two_cache_clients_and_live_in_redis(clock, settings, redis_url):
    """Two independent Django cache clients (as in two web processes) on the same Redis: the
    failures one counts, the other sees, and a fresh client (a restarted process) too."""
    backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    settings.CACHES = {**settings.CACHES, "node_a": dict(backend), "node_b": dict(backend)}
    settings.LOCKOUT_DELAY_BASE_SECONDS = 0
    keys = {lockout.ACCOUNT: "shared@example.test"}
    for n in range(9):
        settings.LOCKOUT_CACHE = "node_a" if n % 2 == 0 else "node_b"
        assert lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys).allowed
    settings.LOCKOUT_CACHE = "node_a"
    assert lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys).locked
    settings.LOCKOUT_CACHE = "node_b"
    assert lockout.attempt_check(scope=lockout.SIGN_IN, keys=keys).locked

    from django.core.cache.backends.redis import RedisCache

    restarted = RedisCache(redis_url, {})
    lock_keys = [key for key in restarted._cache.get_client().keys("*lockout:sign_in:account:*:lock")]
    assert len(lock_keys) == 1
    assert 0 < restarted._cache.get_client().ttl(lock_keys[0]) <= 900


# --- the sign-in page ---------------------------------------------------------------------------------


def test_sign_in_answers_the_same_for_an_account_and_an_unknown_address(clock):
    UserFactory(email="known@example.test")
    answers = {}
    for email in ("known@example.test", "nobody@example.test"):
        seen = []
        for n in range(1, 12):
            response = sign_in(Client(), email)
            seen.append((response.status_code, refusal(response)))
            if n == 4:  # at once after the fourth failure: must wait
                refused = sign_in(Client(), email)
                seen.append((refused.status_code, refusal(refused)))
            clock.advance(timedelta(seconds=60))
        answers[email] = seen
        clock.advance(timedelta(hours=1))
    assert answers["known@example.test"] == answers["nobody@example.test"]
    texts = [text for _, text in answers["known@example.test"]]
    assert texts[0] == "The email address and/or password you specified are not correct."
    assert texts[4] == "Too many failed attempts. Try again in 1 second."
    assert texts[-1] == "Too many failed attempts. Try again in 14 minutes."
    assert OutboundMessage.objects.filter(kind=MessageKind.ACCOUNT_LOCKED).count() == 1  # the real one only
    unknown = AuditEvent.objects.get(action=AuditAction.ACCOUNT_LOCKED, target_label="nobody@example.test")
    assert unknown.project_id is None


def test_a_delay_refuses_even_the_right_password_and_nothing_sleeps(clock):
    user = UserFactory(email="dee@example.test")
    for _ in range(4):
        sign_in(Client(), user.email)
    client = Client()
    response = sign_in(client, user.email, DEFAULT_PASSWORD)
    assert refusal(response) == "Too many failed attempts. Try again in 1 second."
    assert not signed_in(client)
    clock.advance(timedelta(seconds=1))
    assert sign_in(client, user.email, DEFAULT_PASSWORD).status_code == 302
    assert signed_in(client)
    # the success started the account's count over
    for _ in range(3):
        assert "Try again" not in refusal(sign_in(Client(), user.email))


@pytest.mark.django_db(transaction=True)  # the email leaves after commit
def test_a_lock_emails_the_person_once_and_the_link_ends_it(clock, mailoutbox, sent_links):
    project = ProjectFactory(name="Clinic North")
    other = ProjectFactory(name="Lab East")
    user = MembershipFactory(project=project, user=UserFactory(email="lee@example.test")).user
    MembershipFactory(project=other, user=user)
    for _ in range(10):
        sign_in(Client(), user.email)
        clock.advance(timedelta(seconds=60))
    for _ in range(3):  # refused while locked, even the right password: not counted, no second email
        assert refusal(sign_in(Client(), user.email, DEFAULT_PASSWORD)).startswith("Too many failed attempts")
    messages = OutboundMessage.objects.filter(kind=MessageKind.ACCOUNT_LOCKED)
    assert messages.count() == 1 and messages.get().to_email == "lee@example.test"
    assert len(mailoutbox) == 1
    assert "locked until" in mailoutbox[0].body
    locks = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_LOCKED)
    assert {event.project_id for event in locks} == {project.pk, other.pk}
    assert all(event.target_id == str(user.pk) for event in locks)

    # the link is a reset link; choosing a password through it ends the lock at once
    (link,) = sent_links()
    browser = Client()
    path = "/" + link.split("/", 3)[3]
    assert browser.get(path).status_code == 200
    new = "a fresh and long passphrase"
    response = browser.post(path, {"new_password1": new, "new_password2": new})
    assert response.status_code == 303
    assert SecurityRequest.objects.filter(user=user, kind=SecurityRequestKind.RESET, used_at__isnull=False)
    fresh = Client()
    assert sign_in(fresh, user.email, new).status_code == 302 and signed_in(fresh)


# --- admins ---------------------------------------------------------------------------------------------


def _lock(email: str) -> None:
    from identity.clock import clock

    for _ in range(10):
        lockout.attempt_failed(
            scope=lockout.SIGN_IN, keys={lockout.ACCOUNT: email}, actor=Actor(ip_address="198.51.100.1")
        )
        clock.advance(timedelta(seconds=60))


def test_admin_sees_locked_until_and_unlocks_from_the_user_page(
    clock, admin_client, project, member_membership
):
    user = member_membership.user
    page = reverse("portal:membership", args=[project.slug, member_membership.pk])
    assert "Locked until" not in admin_client.get(page).content.decode()
    _lock(user.email)
    until = lockout.account_locked_until(user=user)
    body = admin_client.get(page).content.decode()
    assert f"Locked until {until:%Y-%m-%d %H:%M} UTC" in body
    assert "Unlock sign-in" in body
    response = admin_client.post(
        reverse("portal:membership_unlock", args=[project.slug, member_membership.pk])
    )
    assert response.status_code == 303
    assert lockout.account_locked_until(user=user) is None
    assert "can sign in again" in admin_client.get(page).content.decode()
    event = AuditEvent.objects.get(action=AuditAction.ACCOUNT_UNLOCKED)
    assert event.project_id == project.pk and event.target_id == str(user.pk)
    assert event.details["was_locked"] is True
    client = Client()
    assert sign_in(client, user.email, DEFAULT_PASSWORD).status_code == 302


def test_another_projects_admin_cannot_unlock_and_a_member_may_not(
    clock, admin_client, member_client, project, foreign_membership, member_membership
):
    _lock(foreign_membership.user.email)
    foreign = reverse(
        "portal:membership_unlock", args=[foreign_membership.project.slug, foreign_membership.pk]
    )
    assert admin_client.post(foreign).status_code == 404
    mixed = reverse("portal:membership_unlock", args=[project.slug, foreign_membership.pk])
    assert admin_client.post(mixed).status_code == 404
    _lock(member_membership.user.email)
    own = reverse("portal:membership_unlock", args=[project.slug, member_membership.pk])
    assert member_client.post(own).status_code == 403
    assert lockout.account_locked_until(user=foreign_membership.user) is not None
    assert lockout.account_locked_until(user=member_membership.user) is not None
    assert not AuditEvent.objects.filter(action=AuditAction.ACCOUNT_UNLOCKED).exists()


def test_unlock_api(clock, admin_user, project, member_membership, foreign_membership):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    _lock(member_membership.user.email)
    _lock(foreign_membership.user.email)
    url = f"/api/v1/projects/{project.pk}/memberships/{member_membership.pk}/unlock/"
    assert api.post(url).status_code == 204
    assert lockout.account_locked_until(user=member_membership.user) is None
    foreign = f"/api/v1/projects/{project.pk}/memberships/{foreign_membership.pk}/unlock/"
    response = api.post(foreign)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    other = f"/api/v1/projects/{foreign_membership.project.pk}/memberships/{foreign_membership.pk}/unlock/"
    assert api.post(other).status_code == 404
    assert lockout.account_locked_until(user=foreign_membership.user) is not None
    event = AuditEvent.objects.get(action=AuditAction.ACCOUNT_UNLOCKED)
    assert event.actor_user_id == admin_user.pk and event.project_id == project.pk


# --- set-password links and reset requests ------------------------------------------------------------


def test_wrong_set_password_links_are_delayed_then_locked(clock):
    from accounts.services.security_links import security_link_issue

    user = UserFactory(email="link@example.test")
    link = security_link_issue(kind=SecurityRequestKind.RESET, user=user)
    path = "/" + link.url.split("/", 3)[3]
    wrong = path.rsplit("/", 1)[0] + "/" + "x" * 43
    client = Client(REMOTE_ADDR="198.51.100.20")
    statuses = []
    for _ in range(4):
        statuses.append(client.get(wrong).status_code)
    assert statuses == [404, 404, 404, 404]
    response = client.get(path)  # even the right link waits
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert "Try again in 1 second" in response.content.decode()
    for _ in range(6):
        clock.advance(timedelta(seconds=60))
        client.get(wrong)
    locked = client.get(path)
    assert locked.status_code == 429 and "Try again in 15 minutes" in locked.content.decode()
    clock.advance(timedelta(minutes=15))
    assert client.get(path).status_code == 200


def test_reset_requests_are_delayed_the_same_for_any_address(clock, settings):
    UserFactory(email="reset@example.test")
    answers = {}
    for email in ("reset@example.test", "ghost@example.test"):
        seen = []
        for _ in range(5):
            response = Client().post(reverse("account_reset_password"), {"email": email})
            seen.append((response.status_code, "Try again in" in response.content.decode()))
        answers[email] = seen
        clock.advance(timedelta(hours=1))
    assert answers["reset@example.test"] == answers["ghost@example.test"]
    assert answers["ghost@example.test"] == [(302, False)] * 4 + [(200, True)]
    # four reset emails for the real account; the refused fifth request sent nothing
    assert OutboundMessage.objects.filter(kind=MessageKind.PASSWORD_RESET).count() == 4


# --- OAuth client authentication ------------------------------------------------------------------------


@pytest.fixture
def lab_client(project):
    from oauth.services import ClientInput, client_create

    data = ClientInput(name="Lab sync", grant_types=["client_credentials"], scopes=["openid"])
    issued = client_create(project=project, actor=Actor.system(), data=data)
    return issued.client.client_id, issued.client_secret


def _token(client_id: str, secret: str):
    auth = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return Client().post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)


def test_a_client_guessing_secrets_is_delayed_then_locked_with_a_plain_invalid_client(
    clock, lab_client, project
):
    client_id, secret = lab_client
    assert _token(client_id, secret).status_code == 200
    for _ in range(4):
        assert _token(client_id, "wrong").status_code == 401
    waiting = _token(client_id, secret)
    assert waiting.status_code == 401
    assert waiting.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed (unknown client, wrong secret or disabled client).",
    }
    for _ in range(6):
        clock.advance(timedelta(seconds=60))
        _token(client_id, "wrong")
    clock.advance(timedelta(seconds=60))
    locked = _token(client_id, secret)
    assert locked.status_code == 401 and locked.json() == waiting.json()
    assert "Retry-After" not in locked
    # its project's admins can tell why: client.locked, once, in the project's log
    (event,) = AuditEvent.objects.filter(action=AuditAction.CLIENT_LOCKED)
    assert event.project_id == project.pk and event.target_label == "Lab sync"
    # introspection authenticates clients the same way, with the same guard
    auth = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    introspect = Client().post("/o/introspect/", {"token": "x"}, HTTP_AUTHORIZATION=auth)
    assert introspect.status_code == 401
    clock.advance(timedelta(minutes=15))
    assert _token(client_id, secret).status_code == 200


def test_an_unknown_client_id_is_counted_like_a_real_one(clock, settings):
    settings.LOCKOUT_DELAY_BASE_SECONDS = 0  # straight to the lock
    answers = [_token("no-such-client", "guess") for _ in range(11)]
    assert {(response.status_code, response.json()["error"]) for response in answers} == {
        (401, "invalid_client")
    }
    assert lockout.attempt_check(scope=lockout.CLIENT, keys={lockout.CLIENT_ID: "no-such-client"}).locked
    assert not AuditEvent.objects.filter(action=AuditAction.CLIENT_LOCKED).exists()  # no project to tell


def test_failed_client_assertions_count_per_client_but_an_unreachable_jwks_uri_does_not(clock, monkeypatch):
    from types import SimpleNamespace

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from oauth import client_auth
    from oauth.client_keys import JwksUnavailable
    from oauth.errors import InvalidClient

    key = ec.generate_private_key(ec.SECP256R1())
    backend = SimpleNamespace(client_id="svc-backend", uses_private_key_jwt=True)

    def attempt(load_client):
        signed = jwt.encode({"iss": "svc-backend", "sub": "svc-backend"}, key, algorithm="ES256")
        params = {"client_assertion_type": client_auth.CLIENT_ASSERTION_TYPE, "client_assertion": signed}
        with pytest.raises(InvalidClient) as refused:
            client_auth.client_authenticate(authorization="", params=params, load_client=load_client)
        return refused.value

    def jwks_down(client, kid=None):
        raise JwksUnavailable("connection refused")

    monkeypatch.setattr(client_auth, "client_signing_keys", jwks_down)
    for _ in range(5):  # the client's jwks_uri does not answer: refused, not the client's failure
        assert "could not be fetched" in attempt(lambda client_id: backend).description
    assert lockout.attempt_check(scope=lockout.CLIENT, keys={lockout.CLIENT_ID: "svc-backend"}).allowed
    monkeypatch.setattr(client_auth, "client_signing_keys", lambda client, kid=None: [])
    for _ in range(4):  # signed with a key the client does not have
        assert "No key of this client" in attempt(lambda client_id: backend).description
    verdict = lockout.attempt_check(scope=lockout.CLIENT, keys={lockout.CLIENT_ID: "svc-backend"})
    assert not verdict.allowed and verdict.retry_after == 1
    # refused before anything is checked, without saying why
    assert attempt(lambda client_id: backend).description == InvalidClient.description


def test_the_guard_fails_closed_while_redis_is_unreachable(settings, lab_client):
    """No guessing while the counters cannot be read: 503 with Retry-After, like any page that
    needs Redis then (identity/error_views.py), never an unguarded answer."""
    import socket

    from django.core.cache import caches

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    try:
        browser = Client(raise_request_exception=False)
        user = UserFactory(email="outage@example.test")
        refused = browser.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
        assert refused.status_code == 503 and refused["Retry-After"]
        assert "_auth_user_id" not in browser.session
        client_id, secret = lab_client
        auth = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        token = browser.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
        assert token.status_code == 503 and "access_token" not in token.content.decode()
    finally:
        caches["default"].close()


@pytest.mark.django_db(transaction=True)  # the email leaves after commit
def test_an_mfa_lock_says_the_password_is_known_and_a_new_password_ends_it(clock, mailoutbox, sent_links):
    """The MFA step (accounts/forms_mfa.py) locks through the same guard; its email says what it
    means (someone had the password) and its link ends the MFA lock as well."""
    user = UserFactory(email="mo@example.test")
    keys = {lockout.ACCOUNT: lockout.account_key(user), lockout.IP: "198.51.100.30"}
    for _ in range(10):
        lockout.attempt_failed(scope=lockout.MFA, keys=keys)
        clock.advance(timedelta(seconds=60))
    assert lockout.lock_status(scope=lockout.MFA, keys=keys) is not None
    assert lockout.account_locked_until(user=user) is not None  # admins see it as a lock too
    (email,) = mailoutbox
    assert "entered a wrong two-factor code" in email.body and "someone knows your password" in email.body
    (link,) = sent_links()
    path = "/" + link.split("/", 3)[3]
    new = "another long and calm passphrase"
    assert Client().post(path, {"new_password1": new, "new_password2": new}).status_code == 303
    assert lockout.account_locked_until(user=user) is None


def test_a_busy_clients_clear_verdict_is_reused_for_at_most_the_reuse_period(clock, lab_client, settings):
    """A client that just authenticated is not looked up in Redis again for
    LOCKOUT_CLEAR_REUSE_SECONDS on this process: a lock counted by another process refuses it here
    at most that much later, and a failure counted here forgets the reuse at once."""
    settings.LOCKOUT_DELAY_BASE_SECONDS = 0  # straight to the lock
    settings.LOCKOUT_CLEAR_REUSE_SECONDS = 1
    client_id, secret = lab_client
    keys = {lockout.CLIENT_ID: client_id}
    assert _token(client_id, secret).status_code == 200  # read from Redis, then remembered
    # Another process counts the failures that lock the client: Redis says locked, while this
    # process still remembers the clear verdict it read (its own failures would forget it).
    remembered = dict(lockout._recently_clear)
    for _ in range(10):
        lockout.attempt_failed(scope=lockout.CLIENT, keys=keys)
    lockout._recently_clear.update(remembered)
    assert lockout.attempt_check(scope=lockout.CLIENT, keys=keys).locked
    assert _token(client_id, secret).status_code == 200  # within the bound
    clock.advance(timedelta(seconds=1, milliseconds=1))
    refused = _token(client_id, secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_a_failure_on_this_process_forgets_the_reuse_at_once(clock, lab_client, settings):
    settings.LOCKOUT_DELAY_BASE_SECONDS = 0
    client_id, secret = lab_client
    assert _token(client_id, secret).status_code == 200
    for _ in range(10):
        assert _token(client_id, "wrong").status_code == 401
    assert _token(client_id, secret).status_code == 401  # locked now, not a second later


def test_no_reuse_when_the_period_is_zero(clock, lab_client, settings):
    settings.LOCKOUT_DELAY_BASE_SECONDS = 0
    settings.LOCKOUT_CLEAR_REUSE_SECONDS = 0
    client_id, secret = lab_client
    assert _token(client_id, secret).status_code == 200
    assert not lockout._recently_clear
    for _ in range(10):
        lockout.attempt_failed(scope=lockout.CLIENT, keys={lockout.CLIENT_ID: client_id})
    assert _token(client_id, secret).status_code == 401
