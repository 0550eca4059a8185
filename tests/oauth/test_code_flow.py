"""Authorization code + PKCE, driven by authlib against the live server (OpenID basic OP plan)."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from django.utils import timezone

from oauth.models import AccessToken, Grant, RefreshToken
from tests.oauth.conftest import REDIRECT, authorize_params, get_code, session_for, verify_id_token

pytestmark = pytest.mark.django_db(transaction=True)


def exchange(client, code, params, issuer, method="client_secret_basic"):
    return session_for(client, method=method).fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=params["_verifier"]
    )


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_happy_flow_id_token_validates_against_jwks(issuer, browser, web_client, member, method):
    code, params = get_code(browser, web_client)
    assert params["_query"]["state"] == [params["state"]]
    assert params["_query"]["iss"] == [issuer]  # RFC 9207
    token = exchange(web_client, code, params, issuer, method)
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]
    claims = verify_id_token(
        token["id_token"], issuer=issuer, client_id=web_client.client_id, nonce=params["nonce"]
    )
    assert claims["sub"] == str(member.pk)
    assert "auth_time" in claims and "at_hash" in claims and len(claims["sid"]) == 32
    digest = hashlib.sha256(token["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    header = jwt_header(token["id_token"])
    assert header["alg"] == "RS256" and header["kid"]
    # the access token is an RFC 9068 JWT
    at_header = jwt_header(token["access_token"])
    assert at_header["typ"] == "at+jwt"
    for how in ("get", "post-header", "post-body"):
        info = userinfo(issuer, token["access_token"], how)
        assert info.status_code == 200, (how, info.content)
        assert info.json()["sub"] == str(member.pk) and info.json()["email"] == member.email


def jwt_header(token: str) -> dict:
    import json

    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def userinfo(issuer, access_token, how):
    url = f"{issuer}/o/userinfo/"
    if how == "get":
        return requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
    if how == "post-header":
        return requests.post(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
    return requests.post(url, data={"access_token": access_token}, timeout=10)


def test_token_response_is_not_cached(issuer, browser, web_client):
    code, params = get_code(browser, web_client)
    response = requests.post(
        f"{issuer}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": params["_verifier"],
            "redirect_uri": REDIRECT,
        },
        auth=(web_client.client_id, web_client.plain_secret),
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_es256_client(issuer, browser, make_client):
    client = make_client(name="EC app", algorithm="ES256")
    code, params = get_code(browser, client)
    token = exchange(client, code, params, issuer)
    assert jwt_header(token["id_token"])["alg"] == "ES256"
    verify_id_token(token["id_token"], issuer=issuer, client_id=client.client_id, nonce=params["nonce"])


def test_request_without_nonce_succeeds(issuer, browser, web_client):
    code, params = get_code(browser, web_client, nonce=None)
    token = exchange(web_client, code, params, issuer)
    assert "nonce" not in verify_id_token(
        token["id_token"], issuer=issuer, client_id=web_client.client_id, nonce=None
    )


def test_unknown_parameters_are_ignored(issuer, browser, web_client):
    code, params = get_code(
        browser,
        web_client,
        foo="bar",
        display="popup",
        ui_locales="fr",
        claims_locales="de",
        acr_values="urn:mace:incommon:iap:silver",
        login_hint="member@clinic.test",
    )
    assert exchange(web_client, code, params, issuer)["access_token"]


def test_authorize_by_post(issuer, browser, web_client):
    params = authorize_params(web_client)
    verifier = params.pop("_verifier")
    posted = browser.post("/o/authorize/", params)
    assert posted.status_code == 303  # the same request, as GET
    page = browser.get(posted["Location"])
    assert page.status_code == 200 and b"Allow" in page.content
    assert page["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert "Access-Control-Allow-Origin" not in page
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    approved = browser.post("/o/authorize/", {**form, "consent": "1", "allow": "Authorize"})
    assert approved.status_code in (302, 303)  # never 307 after a credential POST
    code = parse_qs(urlparse(approved["Location"]).query)["code"][0]
    params["_verifier"] = verifier
    assert exchange(web_client, code, params, issuer)["access_token"]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT + "?x=1",
        "https://app.example/cb;p=1",
        "https://u@app.example/cb",
        REDIRECT + "#x",
        REDIRECT + "/",
        "http://app.example/cb",
        "https://evil.example/cb",
    ],
)
def test_redirect_uri_must_match_exactly_and_never_redirects(browser, web_client, redirect_uri):
    params = authorize_params(web_client, redirect_uri=redirect_uri)
    params.pop("_verifier")
    response = browser.get("/o/authorize/?" + urlencode(params))
    assert response.status_code == 400
    assert "Location" not in response
    assert response["X-Frame-Options"] == "DENY"


def test_unknown_client_shows_error_page(client, web_client):
    params = authorize_params(web_client, client_id="nope", prompt="none")
    params.pop("_verifier")
    response = client.get("/o/authorize/?" + urlencode(params))
    assert response.status_code in (400, 401)
    assert "Location" not in response


def test_code_is_single_use_and_replay_revokes_its_tokens(issuer, browser, web_client):
    code, params = get_code(browser, web_client)
    token = exchange(web_client, code, params, issuer)
    with pytest.raises(OAuthError) as exc:
        exchange(web_client, code, params, issuer)
    assert exc.value.error == "invalid_grant"
    assert userinfo(issuer, token["access_token"], "get").status_code == 401
    with pytest.raises(OAuthError):
        session_for(web_client).refresh_token(f"{issuer}/o/token/", refresh_token=token["refresh_token"])


def test_expired_code_is_refused(issuer, browser, web_client):
    code, params = get_code(browser, web_client)
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    with pytest.raises(OAuthError) as exc:
        exchange(web_client, code, params, issuer)
    assert exc.value.error == "invalid_grant"


def test_wrong_or_missing_verifier_is_invalid_grant(issuer, browser, web_client):
    code, params = get_code(browser, web_client)
    params["_verifier"] = "x" * 50
    with pytest.raises(OAuthError) as exc:
        exchange(web_client, code, params, issuer)
    assert exc.value.error == "invalid_grant"
    code, params = get_code(browser, web_client)
    response = requests.post(
        f"{issuer}/o/token/",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(web_client.client_id, web_client.plain_secret),
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] in ("invalid_grant", "invalid_request")


@pytest.mark.parametrize("challenge,method", [(None, None), ("abc" * 15, "plain")])
def test_pkce_required_and_plain_refused(browser, web_client, challenge, method):
    params = authorize_params(web_client, code_challenge=challenge, code_challenge_method=method)
    params.pop("_verifier")
    response = browser.get("/o/authorize/?" + urlencode(params))
    assert response.status_code == 302
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == [params["state"]]


@pytest.mark.parametrize("response_type", ["token", "id_token token", "id_token", "code id_token"])
def test_implicit_and_hybrid_are_unsupported(browser, web_client, response_type):
    params = authorize_params(web_client, response_type=response_type)
    params.pop("_verifier")
    response = browser.get("/o/authorize/?" + urlencode(params))
    location = response.get("Location", "")
    body = response.content.decode()
    assert "unsupported_response_type" in location or "unsupported_response_type" in body
    assert "access_token" not in location


def test_public_native_client_with_loopback_any_port(issuer, browser, make_client):
    client = make_client(name="Desktop", client_type="public", redirect_uris=["http://127.0.0.1/callback"])
    params = authorize_params(client, redirect_uri="http://127.0.0.1:53121/callback")
    verifier = params.pop("_verifier")
    page = browser.get("/o/authorize/?" + urlencode(params))
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    approved = browser.post("/o/authorize/", {**form, "consent": "1", "allow": "Authorize"})
    assert approved["Location"].startswith("http://127.0.0.1:53121/callback?")
    code = parse_qs(urlparse(approved["Location"]).query)["code"][0]
    response = requests.post(
        f"{issuer}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": "http://127.0.0.1:53121/callback",
            "client_id": client.client_id,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.content


def test_unverified_or_inactive_member_is_denied(browser, web_client, member, oauth_project):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=member).update(verified=False)
    params = authorize_params(web_client)
    params.pop("_verifier")
    response = browser.get("/o/authorize/?" + urlencode(params))
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == [params["state"]]


def test_refresh_rotation_and_reuse_revokes_family(issuer, browser, web_client):
    code, params = get_code(browser, web_client)
    first = exchange(web_client, code, params, issuer)
    session = session_for(web_client)
    second = session.refresh_token(f"{issuer}/o/token/", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    RefreshToken.objects.filter(revoked__isnull=False).update(
        revoked=timezone.now() - timedelta(minutes=5)
    )  # past the window
    with pytest.raises(OAuthError) as exc:
        session.refresh_token(f"{issuer}/o/token/", refresh_token=first["refresh_token"])
    assert exc.value.error == "invalid_grant"
    with pytest.raises(OAuthError):
        session.refresh_token(f"{issuer}/o/token/", refresh_token=second["refresh_token"])
    assert userinfo(issuer, second["access_token"], "get").status_code == 401


def test_refresh_token_is_bound_to_its_client(issuer, browser, web_client, make_client):
    other = make_client(name="Other")
    code, params = get_code(browser, web_client)
    token = exchange(web_client, code, params, issuer)
    with pytest.raises(OAuthError) as exc:
        session_for(other).refresh_token(f"{issuer}/o/token/", refresh_token=token["refresh_token"])
    assert exc.value.error == "invalid_grant"


def test_refresh_token_absolute_expiry(issuer, browser, web_client, clock):
    code, params = get_code(browser, web_client)
    token = exchange(web_client, code, params, issuer)
    clock.advance(timedelta(days=31))
    with pytest.raises(OAuthError) as exc:
        session_for(web_client).refresh_token(f"{issuer}/o/token/", refresh_token=token["refresh_token"])
    assert exc.value.error == "invalid_grant"


def test_deactivated_membership_stops_tokens_at_once(issuer, browser, web_client, member, oauth_project):
    from accounts.models import Membership

    code, params = get_code(browser, web_client)
    token = exchange(web_client, code, params, issuer)
    Membership.objects.filter(user=member, project=oauth_project).update(
        is_active=False
    )  # even without the signal
    assert userinfo(issuer, token["access_token"], "get").status_code == 401
    assert AccessToken.objects.exists()


def test_two_concurrent_refreshes_both_succeed_then_replay_revokes_every_branch(
    issuer, browser, web_client, clock
):
    code, params = get_code(browser, web_client)
    first = exchange(web_client, code, params, issuer)
    session = session_for(web_client)
    winner = session.refresh_token(f"{issuer}/o/token/", refresh_token=first["refresh_token"])
    loser = session.refresh_token(
        f"{issuer}/o/token/", refresh_token=first["refresh_token"]
    )  # same token, in the window
    assert winner["refresh_token"] != loser["refresh_token"]
    assert userinfo(issuer, loser["access_token"], "get").status_code == 200
    clock.advance(timedelta(seconds=30))
    with pytest.raises(OAuthError) as exc:
        session.refresh_token(f"{issuer}/o/token/", refresh_token=first["refresh_token"])
    assert exc.value.error == "invalid_grant"
    for branch in (winner, loser):
        with pytest.raises(OAuthError):
            session.refresh_token(f"{issuer}/o/token/", refresh_token=branch["refresh_token"])


def test_revoked_refresh_token_is_not_honoured_in_the_window(issuer, browser, web_client):
    code, params = get_code(browser, web_client)
    token = exchange(web_client, code, params, issuer)
    requests.post(
        f"{issuer}/o/revoke/",
        data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(web_client.client_id, web_client.plain_secret),
        timeout=10,
    )
    with pytest.raises(OAuthError):
        session_for(web_client).refresh_token(f"{issuer}/o/token/", refresh_token=token["refresh_token"])


def test_post_authorization_request_survives_the_sign_in_detour(client, web_client):
    params = authorize_params(web_client)
    params.pop("_verifier")
    posted = client.post("/o/authorize/", params)
    follow = client.get(posted["Location"])
    assert follow.status_code == 302 and follow["Location"].startswith("/accounts/login/")
    assert "code_challenge" in parse_qs(urlparse(follow["Location"]).query)["next"][0]


@pytest.mark.parametrize(
    "extra,expected",
    [
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://rp.example/req"}, "request_uri_not_supported"),
    ],
)
def test_request_objects_are_refused_as_unsupported(browser, web_client, extra, expected):
    params = authorize_params(web_client, **extra)
    params.pop("_verifier")
    response = browser.get("/o/authorize/?" + urlencode(params))
    location = response.get("Location", "") + response.content.decode()
    assert expected in location


def test_essential_claims_request_succeeds(issuer, browser, web_client):
    import json

    code, params = get_code(
        browser, web_client, claims=json.dumps({"id_token": {"name": {"essential": True}}})
    )
    assert exchange(web_client, code, params, issuer)["id_token"]
