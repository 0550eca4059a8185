"""The user grants at the token endpoint read each row once and use up each old one once
(issue #14 item 3; docs/OAUTH.md "Performance notes"), and stay correct doing so.

A code exchange: the grant with its user, the token-user rule (with the `email_verified` claim),
then one transaction: the code used up, the ID token, access and refresh tokens written. A
refresh: the token with its access token, user and family start, the rule, then one transaction:
the old refresh token revoked, its access token deleted, the new ID, access and refresh tokens.
Whoever loses a race for the same code or refresh token gets invalid_grant and nothing.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.test import Client as BrowserClient
from django.utils import timezone

from oauth.authn_context import Acr
from oauth.models import AccessToken, Grant, IDToken, RefreshToken
from oauth.tokens import token_checksum
from oauth.validators import Validator
from tests.oauth.conftest import REDIRECT, authorize_params

pytestmark = pytest.mark.django_db(transaction=True)

# Statements per request, warm (see the module docstring); BEGIN and COMMIT count.
CODE_EXCHANGE_BUDGET = 8
REFRESH_BUDGET = 9
AUTHORIZE_BUDGET = (
    13  # session, user, session record activity (5), client, rule, sign-in, consent, sid, grant
)


def _basic(client) -> str:
    return "Basic " + base64.b64encode(f"{client.client_id}:{client.plain_secret}".encode()).decode()


def _claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _code(browser, client) -> tuple[str, dict]:
    params = authorize_params(client)
    verifier = params.pop("_verifier")
    response = browser.get("/o/authorize/?" + urlencode(params))
    if response.status_code == 200:  # consent, the first time
        form = {k: v for k, v in response.context["form"].initial.items() if v is not None}
        response = browser.post("/o/authorize/", {**form, "consent": "1", "allow": "Authorize"})
    assert response.status_code == 302, response.content[:300]
    params["_verifier"] = verifier
    return parse_qs(urlparse(response["Location"]).query)["code"][0], params


def _exchange(http, client, code, params):
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": params["_verifier"],
        "redirect_uri": REDIRECT,
    }
    return http.post("/o/token/", body, HTTP_AUTHORIZATION=_basic(client))


def _refresh(http, client, refresh_token):
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return http.post("/o/token/", body, HTTP_AUTHORIZATION=_basic(client))


def _introspect(http, client, token) -> dict:
    return http.post("/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=_basic(client)).json()


def test_a_code_exchange_reads_the_grant_once_and_writes_in_one_transaction(
    browser, web_client, member, django_assert_max_num_queries
):
    http = BrowserClient()
    code, params = _code(browser, web_client)
    assert _exchange(http, web_client, code, params).status_code == 200  # warm: client cache, rule
    code, params = _code(browser, web_client)
    signed_in = timezone.now() - timedelta(minutes=7)
    Grant.objects.filter(code=code).update(auth_time=signed_in, amr=["pwd", "otp", "mfa"], sid="s" * 32)
    with django_assert_max_num_queries(CODE_EXCHANGE_BUDGET):
        response = _exchange(http, web_client, code, params)
    assert response.status_code == 200, response.content
    body = response.json()
    claims = _claims(body["id_token"])
    # What the authorization request recorded on the grant, never the token request's parameters.
    assert claims["nonce"] == params["nonce"] and claims["sid"] == "s" * 32
    assert claims["auth_time"] == int(signed_in.timestamp())
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == Acr.MULTI_FACTOR
    assert claims["email"] == member.email and claims["email_verified"] is True
    assert not Grant.objects.filter(code=code).exists()  # used up with the tokens
    access = AccessToken.objects.get(token_checksum=token_checksum(body["access_token"]))
    assert access.token == "" and access.authorization_code_checksum == token_checksum(code)
    assert access.id_token == IDToken.objects.get(jti=claims["jti"])  # written with the tokens
    refresh = RefreshToken.objects.get(token_checksum=token_checksum(body["refresh_token"]))
    assert refresh.token == "" and refresh.access_token == access and refresh.sid == "s" * 32
    assert _introspect(http, web_client, body["access_token"])["active"] is True
    # The code once more: refused, and what it produced is revoked (RFC 9700 §4.2.4).
    replay = _exchange(http, web_client, code, params)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert _introspect(http, web_client, body["access_token"]) == {"active": False}


def test_a_refresh_reads_the_token_once_and_rotates_in_one_transaction(
    browser, web_client, member, django_assert_max_num_queries
):
    http = BrowserClient()
    code, params = _code(browser, web_client)
    first = _exchange(http, web_client, code, params).json()
    second = _refresh(http, web_client, first["refresh_token"]).json()  # warm
    with django_assert_max_num_queries(REFRESH_BUDGET):
        response = _refresh(http, web_client, second["refresh_token"])
    assert response.status_code == 200, response.content
    third = response.json()
    old = RefreshToken.objects.get(token_checksum=token_checksum(second["refresh_token"]))
    new = RefreshToken.objects.get(token_checksum=token_checksum(third["refresh_token"]))
    # DOT's rotation: the old refresh token revoked, its access token gone, the new pair in the family.
    assert old.revoked is not None and old.access_token is None
    assert not AccessToken.objects.filter(token_checksum=token_checksum(second["access_token"])).exists()
    assert new.token_family == old.token_family and new.revoked is None and new.token == ""
    assert new.access_token.source_refresh_token == old
    assert new.authorization_code_checksum == old.authorization_code_checksum == token_checksum(code)
    claims = _claims(third["id_token"])
    assert claims["sub"] == str(member.pk) and claims["email_verified"] is True
    assert new.access_token.id_token == IDToken.objects.get(jti=claims["jti"])
    assert _introspect(http, web_client, third["access_token"])["active"] is True
    assert _introspect(http, web_client, second["access_token"]) == {"active": False}
    # A reused token past the concurrency window revokes its whole family.
    RefreshToken.objects.filter(pk=old.pk).update(revoked=timezone.now() - timedelta(minutes=5))
    reuse = _refresh(http, web_client, second["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert _introspect(http, web_client, third["access_token"]) == {"active": False}
    assert _refresh(http, web_client, third["refresh_token"]).status_code == 400


def test_a_code_used_up_by_a_concurrent_request_issues_nothing(browser, web_client, monkeypatch):
    """The other request's exchange commits between this one's checks and its writes."""
    http = BrowserClient()
    code, params = _code(browser, web_client)
    confirm = Validator.confirm_redirect_uri

    def concurrent_exchange_wins(self, *args, **kwargs):
        Grant.objects.filter(code=code).delete()
        return confirm(self, *args, **kwargs)

    monkeypatch.setattr(Validator, "confirm_redirect_uri", concurrent_exchange_wins)
    response = _exchange(http, web_client, code, params)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert response["Cache-Control"] == "no-store"
    assert not AccessToken.objects.filter(authorization_code_checksum=token_checksum(code)).exists()
    assert not IDToken.objects.exists()


def test_a_refresh_token_revoked_meanwhile_issues_nothing(browser, web_client, monkeypatch):
    """RFC 7009: revoked between this request's checks and its writes, the token is not honoured."""
    http = BrowserClient()
    code, params = _code(browser, web_client)
    first = _exchange(http, web_client, code, params).json()
    rows = RefreshToken.objects.count(), AccessToken.objects.count()
    scopes = Validator.get_original_scopes

    def revoked_meanwhile(self, refresh_token, request, *args, **kwargs):
        RefreshToken.objects.filter(token_checksum=token_checksum(refresh_token)).update(
            revoked=timezone.now()
        )
        return scopes(self, refresh_token, request, *args, **kwargs)

    monkeypatch.setattr(Validator, "get_original_scopes", revoked_meanwhile)
    response = _refresh(http, web_client, first["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert (RefreshToken.objects.count(), AccessToken.objects.count()) == rows


def test_the_authorization_request_stays_within_its_budget(
    browser, web_client, django_assert_max_num_queries
):
    _code(browser, web_client)  # consent given, client cached
    params = authorize_params(web_client)
    params.pop("_verifier")
    with django_assert_max_num_queries(AUTHORIZE_BUDGET):
        response = browser.get("/o/authorize/?" + urlencode(params))
    assert response.status_code == 302 and "code=" in response["Location"]
    grant = Grant.objects.get(code=parse_qs(urlparse(response["Location"]).query)["code"][0])
    assert grant.sid and grant.auth_time is not None  # recorded in the one INSERT


SKIP_CONSENT_AUTHORIZE_BUDGET = 12  # as above, without the consent lookup


def test_a_skip_consent_client_is_approved_without_a_second_validation(
    browser, make_client, django_assert_max_num_queries
):
    client = make_client(name="Portal app", skip_consent=True)
    _code(browser, client)  # warm: the session record, the client
    params = authorize_params(client)
    params.pop("_verifier")
    with django_assert_max_num_queries(SKIP_CONSENT_AUTHORIZE_BUDGET):
        response = browser.get("/o/authorize/?" + urlencode(params))
    assert response.status_code == 302 and "code=" in response["Location"]
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["state"] == [params["state"]]
    grant = Grant.objects.get(code=query["code"][0])
    assert grant.nonce == params["nonce"] and grant.code_challenge == params["code_challenge"]
    # RFC 8707 `resource` stays DOT's to take (it validates and records it on the grant).
    with_resource = browser.get("/o/authorize/?" + urlencode({**params, "resource": "https://api.example/"}))
    code = parse_qs(urlparse(with_resource["Location"]).query)["code"][0]
    assert Grant.objects.get(code=code).resource == ["https://api.example/"]
