"""OpenID Connect RP-Initiated Logout 1.0 at the end_session_endpoint (/o/logout/), and the
clients' logout fields (post-logout redirect URIs, back-channel logout) in the API, the portal
and `createclient`.

ID tokens come from the real code flow (authorize in the browser, then the token endpoint).
"""

from __future__ import annotations

import base64
import io
import json
import time
from urllib.parse import urlencode

import pytest
from allauth.usersessions.models import UserSession
from django.core.management import CommandError, call_command
from django.test import Client as BrowserClient
from django.urls import reverse
from jwcrypto import jwk, jwt

from audit.models import AuditEvent
from oauth.models import AccessToken, Client, RefreshToken
from oauth.views import discovery_document
from tests.factories import MembershipFactory, UserFactory
from tests.oauth.conftest import REDIRECT, get_code

BACK = "https://app.example/signed-out"
LOGOUT = "/o/logout/"


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def app(make_client):
    return make_client(name="Charts", post_logout_redirect_uris=[BACK])


def tokens_for(browser: BrowserClient, client: Client) -> dict:
    """Sign `browser`'s user in to `client` (code flow); the token response."""
    code, params = get_code(browser, client)
    basic = base64.b64encode(f"{client.client_id}:{client.plain_secret}".encode()).decode()
    response = browser.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": params["_verifier"],
            "redirect_uri": REDIRECT,
        },
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def signed_in(browser: BrowserClient) -> bool:
    return browser.get(reverse("connected_apps")).status_code == 200


def logout_url(**params) -> str:
    return f"{LOGOUT}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def signed_in_browser(user) -> BrowserClient:
    browser = BrowserClient()
    browser.force_login(user)
    return browser


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- with a valid id_token_hint: no question ------------------------------------------------------


def test_a_valid_hint_signs_out_at_once_and_returns_with_state(browser, app, member):
    tokens = tokens_for(browser, app)
    sid = claims_of(tokens["id_token"])["sid"]
    assert AccessToken.objects.filter(user=member, sid=sid).exists()

    response = browser.get(
        logout_url(
            id_token_hint=tokens["id_token"],
            post_logout_redirect_uri=BACK,
            state="st-1",
            ui_locales="fr-CA fr",
            logout_hint=member.email,
        )
    )
    assert response.status_code == 302
    assert response["Location"] == f"{BACK}?state=st-1"
    assert not signed_in(browser)
    assert "_auth_user_id" not in browser.session
    assert not UserSession.objects.filter(user=member).exists()
    # Django's logout ended the session record: its tokens went with it (accounts -> oauth).
    assert not AccessToken.objects.filter(user=member, sid=sid).exists()
    assert not RefreshToken.objects.filter(user=member, sid=sid, revoked__isnull=True).exists()
    assert AuditEvent.objects.filter(action="session.ended", details__reason="logout").count() == 1


def test_the_hint_and_its_client_id_together(browser, app):
    tokens = tokens_for(browser, app)
    response = browser.get(
        logout_url(id_token_hint=tokens["id_token"], client_id=app.client_id, post_logout_redirect_uri=BACK)
    )
    assert response.status_code == 302 and response["Location"] == BACK
    assert not signed_in(browser)


def test_without_a_redirect_uri_the_browser_lands_on_our_signed_out_page(browser, app):
    tokens = tokens_for(browser, app)
    response = browser.get(logout_url(id_token_hint=tokens["id_token"], state="st"))
    assert response.status_code == 302 and response["Location"] == reverse("oauth:logged_out")
    page = browser.get(response["Location"])
    assert page.status_code == 200 and "You have signed out" in page.content.decode()
    assert not signed_in(browser)


def test_an_expired_hint_is_accepted(browser, app, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ID_TOKEN_EXPIRE_SECONDS": -60}
    tokens = tokens_for(browser, app)
    assert claims_of(tokens["id_token"])["exp"] < time.time()
    response = browser.get(logout_url(id_token_hint=tokens["id_token"], post_logout_redirect_uri=BACK))
    assert response.status_code == 302 and response["Location"] == BACK
    assert not signed_in(browser)


def test_a_logout_request_sent_by_post_is_answered_as_get(browser, app):
    """An RP's POST (RP-Initiated Logout §2) carries no CSRF token and, from another site, no
    SameSite=Lax cookie: it becomes the same request as a top-level GET."""
    tokens = tokens_for(browser, app)
    browser_csrf = BrowserClient(enforce_csrf_checks=True)
    browser_csrf.cookies = browser.cookies
    posted = browser_csrf.post(
        LOGOUT, {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": BACK, "state": "s"}
    )
    assert posted.status_code == 303 and posted["Location"].startswith(f"{LOGOUT}?")
    assert signed_in(browser)  # nothing happened yet
    followed = browser_csrf.get(posted["Location"])
    assert followed.status_code == 302 and followed["Location"] == f"{BACK}?state=s"
    assert not signed_in(browser)


# --- post_logout_redirect_uri: exactly a registered one, else not used ----------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/signed-out",
        f"{BACK}/",
        f"{BACK}?next=https://evil.example",
        f"{BACK}#x",
        "https://APP.example/signed-out",
        REDIRECT,  # a redirect URI of the client, not a post-logout one
        "javascript:alert(1)",
    ],
)
def test_an_unregistered_redirect_uri_is_not_used(browser, app, uri):
    tokens = tokens_for(browser, app)
    response = browser.get(
        logout_url(id_token_hint=tokens["id_token"], post_logout_redirect_uri=uri, state="s")
    )
    assert response.status_code == 302 and response["Location"] == reverse("oauth:logged_out")
    assert not signed_in(browser)


def test_a_loopback_uri_must_match_with_its_port(browser, make_client):
    native = make_client(
        name="Desktop",
        client_type="public",
        redirect_uris=["http://127.0.0.1:7000/cb"],
        post_logout_redirect_uris=["http://127.0.0.1:7000/bye"],
    )
    params = {"id_token_hint": None, "client_id": native.client_id, "state": "s"}
    anonymous = BrowserClient()
    wrong_port = anonymous.get(logout_url(**params, post_logout_redirect_uri="http://127.0.0.1:7001/bye"))
    assert wrong_port["Location"] == reverse("oauth:logged_out")  # DOT alone would allow any port
    right = anonymous.get(logout_url(**params, post_logout_redirect_uri="http://127.0.0.1:7000/bye"))
    assert right["Location"] == "http://127.0.0.1:7000/bye?state=s"


def test_a_disabled_clients_uri_is_not_used(browser, app):
    Client.objects.filter(pk=app.pk).update(is_active=False)
    response = BrowserClient().get(logout_url(client_id=app.client_id, post_logout_redirect_uri=BACK))
    assert response["Location"] == reverse("oauth:logged_out")


# --- without a valid hint: the person is asked ----------------------------------------------------


def test_without_a_hint_get_asks_and_only_the_confirmation_post_signs_out(browser, app, member):
    csrf_browser = BrowserClient(enforce_csrf_checks=True)
    csrf_browser.force_login(member)
    url = logout_url(client_id=app.client_id, post_logout_redirect_uri=BACK, state="st-2")

    page = csrf_browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sign out of Identity Portal?" in html and "Charts" in html
    assert 'name="csrfmiddlewaretoken"' in html and 'name="confirm"' in html
    assert "<script" not in html  # a plain form: works without JavaScript
    assert signed_in(csrf_browser)  # a GET never signs out
    assert page["Cache-Control"].startswith("max-age=0")

    form = {
        "confirm": "1",
        "allow": "on",
        "client_id": app.client_id,
        "post_logout_redirect_uri": BACK,
        "state": "st-2",
    }
    forged = csrf_browser.post(LOGOUT, form)  # another site's copy of the form: no CSRF token
    assert forged.status_code == 403
    assert signed_in(csrf_browser)

    token = page.context["csrf_token"]
    confirmed = csrf_browser.post(LOGOUT, {**form, "csrfmiddlewaretoken": str(token)})
    assert confirmed.status_code == 302 and confirmed["Location"] == f"{BACK}?state=st-2"
    assert not signed_in(csrf_browser)


def test_staying_signed_in(browser, app):
    page = browser.get(logout_url(client_id=app.client_id, post_logout_redirect_uri=BACK))
    assert page.status_code == 200
    stay = browser.post(
        LOGOUT, {"confirm": "1", "client_id": app.client_id, "post_logout_redirect_uri": BACK}
    )
    assert stay.status_code == 200 and "You are still signed in" in stay.content.decode()
    assert signed_in(browser)


def test_no_hint_and_no_client_asks_then_lands_on_the_signed_out_page(browser):
    page = browser.get(LOGOUT)
    assert page.status_code == 200 and "Sign out of Identity Portal?" in page.content.decode()
    confirmed = browser.post(LOGOUT, {"confirm": "1", "allow": "on"})
    assert confirmed["Location"] == reverse("oauth:logged_out")
    assert not signed_in(browser)


def test_an_unregistered_uri_after_confirmation_is_not_used(browser, app):
    url = logout_url(client_id=app.client_id, post_logout_redirect_uri="https://evil.example/")
    assert browser.get(url).status_code == 200
    confirmed = browser.post(
        LOGOUT,
        {
            "confirm": "1",
            "allow": "on",
            "client_id": app.client_id,
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert confirmed["Location"] == reverse("oauth:logged_out")
    assert not signed_in(browser)


def test_a_hint_of_another_user_signs_nobody_out_silently(browser, app, member, oauth_project):
    other = UserFactory(email="other@clinic.test")
    MembershipFactory(user=other, project=oauth_project)
    other_browser = signed_in_browser(other)
    others_tokens = tokens_for(other_browser, app)
    mine = tokens_for(browser, app)

    page = browser.get(logout_url(id_token_hint=others_tokens["id_token"], post_logout_redirect_uri=BACK))
    assert page.status_code == 200 and "Sign out of Identity Portal?" in page.content.decode()
    assert signed_in(browser) and signed_in(other_browser)
    other_sid = claims_of(others_tokens["id_token"])["sid"]
    assert AccessToken.objects.filter(user=other, sid=other_sid).exists()
    assert AccessToken.objects.filter(sid=claims_of(mine["id_token"])["sid"]).exists()


def test_a_hint_from_another_session_of_the_same_user_asks(browser, app, member):
    elsewhere = signed_in_browser(member)
    old = tokens_for(elsewhere, app)
    tokens_for(browser, app)
    page = browser.get(logout_url(id_token_hint=old["id_token"], post_logout_redirect_uri=BACK))
    assert page.status_code == 200 and "Sign out of Identity Portal?" in page.content.decode()
    assert signed_in(browser) and signed_in(elsewhere)


def _forged(claims: dict) -> str:
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="forger")
    token = jwt.JWT(header={"alg": "RS256", "kid": "forger"}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jws(payload: bytes) -> str:
    return ".".join((_b64(b'{"alg": "RS256"}'), _b64(payload), _b64(b"sig")))


@pytest.mark.parametrize(
    "hint",
    [
        "garbage",
        "a.b.c",
        _jws(b"not json"),
        _jws(b"[1, 2]"),
        _jws(b'"audience"'),
        _jws(b'{"aud": {"x": 1}}'),
        "forged",
        "tampered",
        "of another client",
    ],
)
def test_an_unusable_hint_asks_and_never_errs(browser, app, make_client, member, hint):
    tokens = tokens_for(browser, app)
    if hint == "forged":  # right claims, not our signature
        hint = _forged({**claims_of(tokens["id_token"]), "jti": "x"})
    elif hint == "tampered":
        head, _, signature = tokens["id_token"].split(".")
        hint = (
            f"{head}.{_b64(json.dumps({**claims_of(tokens['id_token']), 'sub': 'x'}).encode())}.{signature}"
        )
    elif hint == "of another client":  # valid, but client_id names another client
        other = make_client(name="Other", post_logout_redirect_uris=[BACK])
        hint, url_client = tokens["id_token"], other.client_id
        page = browser.get(
            logout_url(id_token_hint=hint, client_id=url_client, post_logout_redirect_uri=BACK)
        )
        assert page.status_code == 200 and "Other" in page.content.decode()
        assert signed_in(browser)
        return
    page = browser.get(logout_url(id_token_hint=hint, client_id=app.client_id, post_logout_redirect_uri=BACK))
    assert page.status_code == 200, page.content[:300]
    assert "Sign out of Identity Portal?" in page.content.decode()
    assert signed_in(browser)


def test_an_unknown_client_id_is_no_client(browser):
    page = browser.get(logout_url(client_id="nope", post_logout_redirect_uri=BACK))
    assert page.status_code == 200 and "Sign out of Identity Portal?" in page.content.decode()
    confirmed = browser.post(
        LOGOUT, {"confirm": "1", "allow": "on", "client_id": "nope", "post_logout_redirect_uri": BACK}
    )
    assert confirmed["Location"] == reverse("oauth:logged_out")


def test_nobody_signed_in_goes_straight_back(app):
    response = BrowserClient().get(
        logout_url(client_id=app.client_id, post_logout_redirect_uri=BACK, state="z")
    )
    assert response.status_code == 302 and response["Location"] == f"{BACK}?state=z"


def test_discovery_names_the_end_session_endpoint(client, settings, db):
    settings.ISSUER_URL = "https://id.example"
    assert discovery_document()["end_session_endpoint"] == "https://id.example/o/logout/"
    assert (
        client.get("/.well-known/openid-configuration").json()["end_session_endpoint"].endswith("/o/logout/")
    )


# --- the clients' logout fields -------------------------------------------------------------------


def _api(admin_user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    return api


WEB = {
    "name": "Web",
    "grant_types": ["authorization_code"],
    "redirect_uris": [REDIRECT],
    "scopes": ["openid"],
}


def test_the_api_registers_and_keeps_the_logout_fields(project, admin_user):
    api = _api(admin_user)
    base = f"/api/v1/projects/{project.pk}/clients/"
    created = api.post(
        base,
        {
            **WEB,
            "post_logout_redirect_uris": [BACK, "https://app.example/bye"],
            "backchannel_logout_uri": "https://app.example/bcl",
            "backchannel_logout_session_required": False,
            "revoke_tokens_on_logout": False,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()["client"]
    assert body["post_logout_redirect_uris"] == [BACK, "https://app.example/bye"]
    assert body["backchannel_logout_uri"] == "https://app.example/bcl"
    assert body["backchannel_logout_session_required"] is False and body["revoke_tokens_on_logout"] is False
    client = Client.objects.get(pk=body["id"])
    assert client.post_logout_redirect_uris == f"{BACK} https://app.example/bye"

    # A PUT that does not name them keeps them; naming one changes only that one.
    kept = api.put(f"{base}{client.pk}/", {**WEB, "name": "Web 2"}, format="json")
    assert kept.status_code == 200, kept.content
    assert kept.json()["post_logout_redirect_uris"] == [BACK, "https://app.example/bye"]
    assert kept.json()["revoke_tokens_on_logout"] is False
    changed = api.put(f"{base}{client.pk}/", {**WEB, "revoke_tokens_on_logout": True}, format="json")
    assert changed.json()["revoke_tokens_on_logout"] is True
    assert changed.json()["backchannel_logout_uri"] == "https://app.example/bcl"

    defaults = api.post(base, {**WEB, "name": "Plain"}, format="json").json()["client"]
    assert defaults["post_logout_redirect_uris"] == [] and defaults["backchannel_logout_uri"] == ""
    assert (
        defaults["backchannel_logout_session_required"] is True
        and defaults["revoke_tokens_on_logout"] is True
    )


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("post_logout_redirect_uris", ["http://app.example/bye"], "use https"),
        ("post_logout_redirect_uris", ["https://app.example/bye#x"], "fragment"),
        ("post_logout_redirect_uris", ["http://127.0.0.1/bye"], "native (public) clients only"),
        ("backchannel_logout_uri", "http://app.example/bcl", "Use https"),
        ("backchannel_logout_uri", "http://127.0.0.1:8000/bcl", "Use https"),
        ("backchannel_logout_uri", "https://10.0.0.5/bcl", "internal network"),
        ("backchannel_logout_uri", "https://app.example/bcl#x", "fragment"),
        ("backchannel_logout_uri", "bcl", "Give a full URL"),
        ("backchannel_logout_uri", "https://127.1/bcl", "internal network"),
    ],
)
def test_the_api_refuses_bad_logout_uris(project, admin_user, field, value, says):
    response = _api(admin_user).post(
        f"/api/v1/projects/{project.pk}/clients/", {**WEB, field: value}, format="json"
    )
    assert response.status_code == 400, response.content
    messages = response.json()["error"]["fields"][field]
    assert any(says in message for message in messages), messages
    assert not Client.objects.filter(project=project).exists()


def test_http_loopback_backchannel_uri_only_with_the_setting(project, admin_user, settings):
    settings.OAUTH_BACKCHANNEL_LOGOUT_ALLOW_HTTP_LOOPBACK = True
    response = _api(admin_user).post(
        f"/api/v1/projects/{project.pk}/clients/",
        {**WEB, "backchannel_logout_uri": "http://127.0.0.1:8000/bcl"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["client"]["backchannel_logout_uri"] == "http://127.0.0.1:8000/bcl"


def test_the_portal_form_registers_and_shows_the_logout_fields(admin_client, project):
    url = reverse("portal:client_create", kwargs={"project_slug": project.slug})
    form = {
        "name": "Web",
        "client_type": "confidential",
        "grant_types": ["authorization_code"],
        "redirect_uris": REDIRECT,
        "scopes": ["openid"],
        "algorithm": "RS256",
        "post_logout_redirect_uris": f"{BACK}\nhttps://app.example/bye\n",
        "backchannel_logout_uri": "https://app.example/bcl",
        "revoke_tokens_on_logout": "on",
    }
    assert "Post-logout redirect URIs" in admin_client.get(url).content.decode()
    created = admin_client.post(url, form, follow=True)
    assert created.status_code == 200, created.content.decode()[:2000]
    assert "only once" in created.content.decode()  # the secret page
    client = Client.objects.get(project=project, name="Web")
    assert client.post_logout_redirect_uris == f"{BACK} https://app.example/bye"
    assert client.backchannel_logout_uri == "https://app.example/bcl"
    assert client.backchannel_logout_session_required is False  # unticked
    assert client.revoke_tokens_on_logout is True
    detail_url = reverse("portal:client", kwargs={"project_slug": project.slug, "client_pk": client.pk})
    detail = admin_client.get(detail_url).content.decode()
    assert f"<code>{BACK}</code>" in detail and "without the session's sid" in detail
    assert "https://app.example/bcl" in detail

    bad = admin_client.post(
        detail_url,
        {
            **form,
            "post_logout_redirect_uris": "http://app.example/bye",
            "backchannel_logout_uri": "ftp://x.example/",
        },
    )
    assert bad.status_code == 400
    page = bad.content.decode()
    assert "http://app.example/bye: use https" in page and "Use https." in page
    client.refresh_from_db()
    assert client.post_logout_redirect_uris == f"{BACK} https://app.example/bye"


def test_createclient_takes_the_logout_options(project):
    out = io.StringIO()
    call_command(
        "createclient",
        *("--project", project.slug, "--name", "Web", "--grant", "authorization_code"),
        *("--redirect-uri", REDIRECT, "--post-logout-redirect-uri", BACK),
        *("--post-logout-redirect-uri", "https://app.example/bye"),
        *("--backchannel-logout-uri", "https://app.example/bcl", "--no-revoke-tokens-on-logout", "--json"),
        stdout=out,
    )
    client = Client.objects.get(client_id=json.loads(out.getvalue())["client_id"])
    assert client.post_logout_redirect_uris == f"{BACK} https://app.example/bye"
    assert client.backchannel_logout_uri == "https://app.example/bcl"
    assert client.revoke_tokens_on_logout is False and client.backchannel_logout_session_required is True

    with pytest.raises(CommandError, match="post_logout_redirect_uris: http://app.example/bye: use https"):
        call_command(
            "createclient",
            *("--project", project.slug, "--name", "Bad", "--grant", "authorization_code"),
            *("--redirect-uri", REDIRECT, "--post-logout-redirect-uri", "http://app.example/bye"),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    with pytest.raises(CommandError, match="backchannel_logout_uri: Use https"):
        call_command(
            "createclient",
            *("--project", project.slug, "--name", "Bad", "--grant", "authorization_code"),
            *("--redirect-uri", REDIRECT, "--backchannel-logout-uri", "http://app.example/bcl"),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
