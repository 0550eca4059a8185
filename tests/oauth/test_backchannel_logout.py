"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0) and revoking a session's tokens.

A real HTTP endpoint on 127.0.0.1 receives the logout tokens; each is verified with PyJWT (not
our jwcrypto) against the JWKS the live server publishes. Tokens come from the real code flow,
and are checked where a resource server would: introspection, userinfo, refresh. Retries are
driven by moving the application clock and running the relay in-process (Celery is eager in
tests), never by sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from allauth.usersessions.models import UserSession
from django.test import Client as BrowserClient
from django.urls import reverse

from accounts.services.sessions import session_end
from audit.context import Actor
from notifications.delivery import DeliveryStatus, delivery_relay
from oauth.backchannel import (
    LOGOUT_EVENT,
    ReceiverAnswered,
    backchannel_logout_delivery,
    retry_after_seconds,
    session_logout,
)
from oauth.models import Client, LogoutNotice
from oauth.views import discovery_document
from tests.factories import MembershipFactory
from tests.oauth.conftest import get_code, session_for, verify_id_token

pytestmark = pytest.mark.django_db(transaction=True)


# --- a client app's back-channel logout endpoint -------------------------------------------------


@dataclass
class Received:
    path: str
    content_type: str
    form: dict[str, list[str]]

    @property
    def token(self) -> str:
        return self.form["logout_token"][0]


@dataclass
class LogoutEndpoint:
    """Records every POST; answers from `answers` (status, headers) in turn, then 200."""

    base: str
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str = "/logout") -> str:
        return f"{self.base}{path}"


@pytest.fixture
def endpoint() -> Iterator[LogoutEndpoint]:
    endpoint: LogoutEndpoint
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            with lock:
                endpoint.received.append(
                    Received(self.path, self.headers.get("Content-Type", ""), parse_qs(body))
                )
                status, headers = endpoint.answers.pop(0) if endpoint.answers else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    endpoint = LogoutEndpoint(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield endpoint
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# --- helpers -------------------------------------------------------------------------------------


def registered(client: Client, uri: str = "", **fields) -> Client:
    """The client with its logout settings (the fields are set here, not through the client form)."""
    Client.objects.filter(pk=client.pk).update(backchannel_logout_uri=uri, **fields)
    plain_secret = getattr(client, "plain_secret", None)
    client.refresh_from_db()
    client.plain_secret = plain_secret
    return client


def sign_in(browser: BrowserClient, client: Client, issuer: str) -> dict:
    code, params = get_code(browser, client)
    tokens = session_for(client).fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=params["_verifier"]
    )
    tokens["claims"] = verify_id_token(
        tokens["id_token"], issuer=issuer, client_id=client.client_id, nonce=params["nonce"]
    )
    return tokens


def end_session(browser: BrowserClient) -> str:
    record = UserSession.objects.get(session_key=browser.session.session_key)
    return session_end(user_session=record, actor=Actor.system(), reason="ended")


def verify_logout_token(token: str, *, issuer: str, client: Client) -> tuple[dict, dict]:
    """Verified by PyJWT against our published JWKS; (header, claims)."""
    jwks = jwt.PyJWKSet.from_dict(requests.get(f"{issuer}/o/jwks/", timeout=10).json())
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    claims = jwt.decode(
        token,
        key=key,
        algorithms=[client.algorithm or "RS256"],
        audience=client.client_id,
        issuer=issuer,
        options={"require": ["iss", "aud", "iat", "exp", "jti", "events"]},
    )
    return header, claims


def introspect(issuer: str, client: Client, token: str) -> dict:
    return requests.post(
        f"{issuer}/o/introspect/",
        data={"token": token},
        auth=(client.client_id, client.plain_secret),
        timeout=10,
    ).json()


def userinfo_status(issuer: str, access_token: str) -> int:
    return requests.get(
        f"{issuer}/o/userinfo/", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    ).status_code


def refresh_status(issuer: str, client: Client, refresh_token: str) -> int:
    return requests.post(
        f"{issuer}/o/token/",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(client.client_id, client.plain_secret),
        timeout=10,
    ).status_code


def dead(issuer: str, client: Client, tokens: dict) -> bool:
    """Inactive at introspection, refused at userinfo, unable to refresh."""
    return (
        introspect(issuer, client, tokens["access_token"]) == {"active": False}
        and userinfo_status(issuer, tokens["access_token"]) == 401
        and refresh_status(issuer, client, tokens["refresh_token"]) == 400
    )


def alive(issuer: str, client: Client, tokens: dict) -> bool:
    return (
        introspect(issuer, client, tokens["access_token"])["active"] is True
        and userinfo_status(issuer, tokens["access_token"]) == 200
        and refresh_status(issuer, client, tokens["refresh_token"]) == 200
    )


# --- tests ---------------------------------------------------------------------------------------


def test_discovery_advertises_back_channel_logout_with_sessions():
    document = discovery_document()
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_ending_the_session_sends_a_logout_token_and_kills_its_tokens(
    issuer, browser, make_client, member, endpoint, algorithm
):
    client = registered(make_client(algorithm=algorithm), endpoint.url())
    tokens = sign_in(browser, client, issuer)
    sid = end_session(browser)
    assert tokens["claims"]["sid"] == sid

    [received] = endpoint.received
    assert received.path == "/logout"
    assert received.content_type == "application/x-www-form-urlencoded"
    assert set(received.form) == {"logout_token"}
    header, claims = verify_logout_token(received.token, issuer=issuer, client=client)
    assert header["typ"] == "logout+jwt" and header["alg"] == algorithm and header["kid"]
    notice = LogoutNotice.objects.get()
    assert claims["iss"] == issuer
    assert claims["aud"] == client.client_id
    assert claims["sub"] == tokens["claims"]["sub"] == str(member.pk)
    assert claims["sid"] == tokens["claims"]["sid"]
    assert claims["events"] == {LOGOUT_EVENT: {}}
    assert claims["jti"] == notice.pk.hex
    assert claims["exp"] - claims["iat"] == 120
    assert "nonce" not in claims
    assert set(claims) == {"iss", "aud", "iat", "exp", "jti", "sub", "sid", "events"}

    assert (notice.status, notice.attempts, notice.sid, notice.uri) == ("sent", 1, sid, endpoint.url())
    assert notice.user == member and notice.idempotency_key == f"logout:{client.pk}:{sid}"
    assert dead(issuer, client, tokens)


def test_signing_out_sends_the_logout_token_too(issuer, browser, make_client, endpoint):
    client = registered(make_client(), endpoint.url())
    tokens = sign_in(browser, client, issuer)
    response = browser.post(reverse("account_logout"))
    assert response.status_code == 302
    [received] = endpoint.received
    _, claims = verify_logout_token(received.token, issuer=issuer, client=client)
    assert claims["sid"] == tokens["claims"]["sid"]
    assert dead(issuer, client, tokens)


def test_a_receiver_answering_500_gets_the_token_again_later(issuer, browser, make_client, endpoint, clock):
    client = registered(make_client(), endpoint.url())
    tokens = sign_in(browser, client, issuer)
    endpoint.answers = [(500, {}), (503, {"Retry-After": "120"})]
    end_session(browser)

    notice = LogoutNotice.objects.get()
    assert (notice.status, notice.attempts) == ("failed", 1)
    assert notice.last_error == "HTTP 500 from the back-channel logout URI"
    assert notice.next_attempt_at > clock.now()
    assert delivery_relay() == 0 and len(endpoint.received) == 1  # not due yet

    clock.advance(notice.next_attempt_at - clock.now())
    assert delivery_relay() == 1
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("failed", 2)
    assert notice.next_attempt_at == clock.now() + timedelta(seconds=120)  # the receiver's Retry-After

    clock.advance(timedelta(seconds=119))
    assert delivery_relay() == 0
    clock.advance(timedelta(seconds=1))
    assert delivery_relay() == 1
    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.last_error) == ("sent", 3, "")
    assert delivery_relay() == 0  # sent: never again

    assert len(endpoint.received) == 3
    verified = [verify_logout_token(r.token, issuer=issuer, client=client)[1] for r in endpoint.received]
    assert {c["jti"] for c in verified} == {notice.pk.hex}  # one notice: the receiver can dedupe
    assert {c["sid"] for c in verified} == {tokens["claims"]["sid"]}


def test_a_400_makes_the_notice_dead_and_the_portal_shows_it(
    issuer, browser, make_client, endpoint, clock, oauth_project
):
    client = registered(make_client(), endpoint.url())
    sign_in(browser, client, issuer)
    endpoint.answers = [(400, {})]
    end_session(browser)

    notice = LogoutNotice.objects.get()
    assert (notice.status, notice.attempts) == (DeliveryStatus.DEAD, 1)
    assert notice.last_error == "HTTP 400 from the back-channel logout URI"
    clock.advance(timedelta(days=1))
    assert delivery_relay() == 0 and len(endpoint.received) == 1

    admin = MembershipFactory(project=oauth_project, role="admin").user
    portal = BrowserClient()
    portal.force_login(admin)
    page = portal.get(
        reverse("portal:client", kwargs={"project_slug": oauth_project.slug, "client_pk": client.pk})
    )
    assert page.status_code == 200
    assert page.context["logout_notices"] == [notice]
    html = page.content.decode()
    assert "Back-channel logout" in html and "Dead (gave up)" in html
    assert "HTTP 400 from the back-channel logout URI" in html


def test_a_client_that_keeps_its_tokens_still_gets_the_notice(issuer, browser, make_client, endpoint):
    revoking = registered(make_client(name="Revoking"), endpoint.url("/a"))
    keeping = registered(make_client(name="Keeping"), endpoint.url("/b"), revoke_tokens_on_logout=False)
    silent = registered(make_client(name="No logout URI"))
    revoked_tokens = sign_in(browser, revoking, issuer)
    kept_tokens = sign_in(browser, keeping, issuer)
    silent_tokens = sign_in(browser, silent, issuer)
    assert revoked_tokens["claims"]["sid"] == kept_tokens["claims"]["sid"] == silent_tokens["claims"]["sid"]

    end_session(browser)

    assert sorted(r.path for r in endpoint.received) == ["/a", "/b"]
    for received in endpoint.received:
        client = revoking if received.path == "/a" else keeping
        _, claims = verify_logout_token(received.token, issuer=issuer, client=client)
        assert claims["aud"] == client.client_id
    assert set(LogoutNotice.objects.values_list("client_id", flat=True)) == {revoking.pk, keeping.pk}
    assert dead(issuer, revoking, revoked_tokens)
    assert dead(issuer, silent, silent_tokens)
    assert alive(issuer, keeping, kept_tokens)


def test_tokens_of_another_session_of_the_same_user_are_untouched(
    issuer, member, make_client, m2m_client, endpoint
):
    client = registered(make_client(), endpoint.url())
    laptop, phone = BrowserClient(), BrowserClient()
    laptop.force_login(member)
    phone.force_login(member)
    laptop_tokens = sign_in(laptop, client, issuer)
    phone_tokens = sign_in(phone, client, issuer)
    assert laptop_tokens["claims"]["sid"] != phone_tokens["claims"]["sid"]
    machine = session_for(m2m_client).fetch_token(
        f"{issuer}/o/token/", grant_type="client_credentials", scope="portal.read"
    )

    sid = end_session(laptop)

    assert sid == laptop_tokens["claims"]["sid"]
    [received] = endpoint.received
    assert verify_logout_token(received.token, issuer=issuer, client=client)[1]["sid"] == sid
    assert dead(issuer, client, laptop_tokens)
    assert alive(issuer, client, phone_tokens)
    assert introspect(issuer, m2m_client, machine["access_token"])["active"] is True


def test_a_session_ends_once_per_client_and_an_empty_sid_is_nothing(
    issuer, browser, member, make_client, endpoint
):
    client = registered(make_client(), endpoint.url())
    tokens = sign_in(browser, client, issuer)
    sid = tokens["claims"]["sid"]
    assert session_logout(user=member, sid="") == []
    assert alive(issuer, client, tokens) and endpoint.received == []

    assert len(session_logout(user=member, sid=sid)) == 1
    assert session_logout(user=member, sid=sid) == []  # the same session again: no second notice
    assert LogoutNotice.objects.count() == 1 and len(endpoint.received) == 1


def test_an_unreachable_receiver_is_retried(issuer, browser, make_client):
    with socket_closed_port() as port:
        client = registered(make_client(), f"http://127.0.0.1:{port}/logout")
        sign_in(browser, client, issuer)
        end_session(browser)
    notice = LogoutNotice.objects.get()
    assert (notice.status, notice.last_error) == (
        "failed",
        "could not connect to the back-channel logout URI",
    )


class socket_closed_port:  # noqa: N801 - used as a context manager
    """A local port nothing listens on (bound, never listening, for the duration)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


@pytest.mark.parametrize(
    ("error", "permanent", "retry_after"),
    [
        (ReceiverAnswered(500), False, None),
        (ReceiverAnswered(503, retry_after=30), False, 30),
        (ReceiverAnswered(429, retry_after=5), False, 5),
        (ReceiverAnswered(408), False, None),
        (ReceiverAnswered(400), True, None),
        (ReceiverAnswered(401), True, None),
        (ReceiverAnswered(404), True, None),
        (ReceiverAnswered(302), True, None),
        (requests.Timeout("read timed out"), False, None),
        (requests.ConnectionError("refused"), False, None),
        (requests.exceptions.InvalidSchema("no adapter"), True, None),
    ],
)
def test_classification(error, permanent, retry_after):
    failure = backchannel_logout_delivery.classify(error)
    assert (failure.permanent, failure.retry_after) == (permanent, retry_after)
    assert failure.description  # recorded instead of the exception text


def test_retry_after_as_seconds_or_an_http_date(clock):
    from email.utils import format_datetime

    clock.freeze(clock.now().replace(microsecond=0))  # an HTTP-date has whole seconds
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(format_datetime(clock.now() + timedelta(seconds=90), usegmt=True)) == 90
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
