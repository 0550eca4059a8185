"""Client credentials, introspection (RFC 7662), revocation (RFC 7009), discovery, consent, keys, secrets."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from django.core.management import call_command

from accounts.models import Membership
from audit.context import Actor
from oauth.models import AccessToken, Client
from oauth.services import client_rotate_secret, client_set_active
from tests.factories import MembershipFactory, ProjectFactory
from tests.oauth.conftest import authorize_params, get_code, session_for

pytestmark = pytest.mark.django_db(transaction=True)


def cc_token(issuer, client, secret=None, **data):
    return requests.post(
        f"{issuer}/o/token/",
        data={"grant_type": "client_credentials", **data},
        auth=(client.client_id, secret or client.plain_secret),
        timeout=10,
    )


def introspect(issuer, caller, token, secret=None, **extra):
    return requests.post(
        f"{issuer}/o/introspect/",
        data={"token": token, **extra},
        auth=(caller.client_id, secret or caller.plain_secret),
        timeout=10,
    )


class TestClientCredentials:
    def test_token_with_authlib_and_scope_allow_list(self, issuer, m2m_client):
        token = session_for(m2m_client).fetch_token(
            f"{issuer}/o/token/", grant_type="client_credentials", scope="portal.read"
        )
        assert token["scope"] == "portal.read" and "refresh_token" not in token
        refused = cc_token(issuer, m2m_client, scope="portal.write")
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
        assert refused.json()["error_description"]

    def test_wrong_secret_is_invalid_client_401(self, issuer, m2m_client):
        response = cc_token(issuer, m2m_client, secret="wrong")
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic")

    def test_grant_allow_list(self, issuer, web_client, m2m_client):
        response = cc_token(issuer, web_client)
        assert response.status_code in (400, 401) and response.json()["error"] == "unauthorized_client"

    @pytest.mark.parametrize(
        "grant", ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "magic"]
    )
    def test_unsupported_grants(self, issuer, m2m_client, grant):
        response = requests.post(
            f"{issuer}/o/token/",
            data={"grant_type": grant, "username": "a", "password": "b"},
            auth=(m2m_client.client_id, m2m_client.plain_secret),
            timeout=10,
        )
        assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"

    def test_disabled_client_is_refused_and_its_tokens_die(self, issuer, m2m_client):
        token = cc_token(issuer, m2m_client).json()["access_token"]
        client_set_active(client=m2m_client, actor=Actor.system(), active=False)
        assert cc_token(issuer, m2m_client).status_code == 401
        assert not AccessToken.objects.filter(application=m2m_client).exists()
        assert token

    def test_secret_rotation_grace(self, issuer, m2m_client, clock):
        old = m2m_client.plain_secret
        new = client_rotate_secret(client=m2m_client, actor=Actor.system(), grace_seconds=3600)
        assert cc_token(issuer, m2m_client, secret=new).status_code == 200
        assert cc_token(issuer, m2m_client, secret=old).status_code == 200  # retiring secret, in grace
        clock.advance(timedelta(hours=2))
        assert cc_token(issuer, m2m_client, secret=old).status_code == 401
        assert cc_token(issuer, m2m_client, secret=new).status_code == 200

    def test_secret_is_stored_with_the_keyed_hasher(self, m2m_client):
        stored = Client.objects.get(pk=m2m_client.pk).client_secret
        assert stored.startswith("keyed_sha256$") and m2m_client.plain_secret not in stored


class TestIntrospection:
    def test_requires_client_authentication(self, issuer, m2m_client):
        token = cc_token(issuer, m2m_client).json()["access_token"]
        anonymous = requests.post(f"{issuer}/o/introspect/", data={"token": token}, timeout=10)
        assert anonymous.status_code == 401
        wrong = introspect(issuer, m2m_client, token, secret="nope")
        assert wrong.status_code == 401

    def test_active_token_claims(self, issuer, m2m_client, oauth_project):
        token = cc_token(issuer, m2m_client, scope="portal.read").json()["access_token"]
        body = introspect(issuer, m2m_client, token).json()
        assert body["active"] is True
        for claim in ("scope", "client_id", "sub", "exp", "iat", "iss", "aud"):
            assert claim in body
        assert body["project"] == str(oauth_project.pk) and body["scope"] == "portal.read"

    def test_inactive_answers(self, issuer, m2m_client, browser, web_client, member, oauth_project):
        assert introspect(issuer, m2m_client, "not-a-token").json() == {"active": False}
        token = cc_token(issuer, m2m_client).json()["access_token"]
        AccessToken.objects.filter(application=m2m_client).update(
            expires=AccessToken.objects.first().created - timedelta(seconds=1)
        )
        assert introspect(issuer, m2m_client, token).json() == {"active": False}
        code, params = get_code(browser, web_client)
        user_token = session_for(web_client).fetch_token(
            f"{issuer}/o/token/",
            grant_type="authorization_code",
            code=code,
            code_verifier=params["_verifier"],
        )["access_token"]
        assert introspect(issuer, m2m_client, user_token).json()["active"] is True
        Membership.objects.filter(user=member, project=oauth_project).update(is_active=False)
        assert introspect(issuer, m2m_client, user_token).json() == {"active": False}
        Membership.objects.filter(user=member, project=oauth_project).update(is_active=True)
        member.is_active = False
        member.save()
        assert introspect(issuer, m2m_client, user_token).json() == {"active": False}

    def test_other_projects_client_learns_nothing(self, issuer, m2m_client, make_client):
        other_project = ProjectFactory()
        MembershipFactory(project=other_project, role="owner")
        outsider = make_client(
            name="Outsider", grant_types=["client_credentials"], redirect_uris=[], project=other_project
        )
        token = cc_token(issuer, m2m_client).json()["access_token"]
        assert introspect(issuer, outsider, token).json() == {"active": False}


class TestRevocation:
    def test_client_revokes_its_own_token(self, issuer, m2m_client):
        token = cc_token(issuer, m2m_client).json()["access_token"]
        response = requests.post(
            f"{issuer}/o/revoke/",
            data={"token": token},
            auth=(m2m_client.client_id, m2m_client.plain_secret),
            timeout=10,
        )
        assert response.status_code == 200
        assert introspect(issuer, m2m_client, token).json() == {"active": False}

    def test_cannot_revoke_another_clients_token(self, issuer, m2m_client, make_client):
        other = make_client(name="Other m2m", grant_types=["client_credentials"], redirect_uris=[])
        token = cc_token(issuer, m2m_client).json()["access_token"]
        requests.post(
            f"{issuer}/o/revoke/",
            data={"token": token},
            auth=(other.client_id, other.plain_secret),
            timeout=10,
        )
        assert introspect(issuer, m2m_client, token).json()["active"] is True

    def test_revoking_refresh_token_kills_the_pair(self, issuer, browser, web_client):
        code, params = get_code(browser, web_client)
        token = session_for(web_client).fetch_token(
            f"{issuer}/o/token/",
            grant_type="authorization_code",
            code=code,
            code_verifier=params["_verifier"],
        )
        requests.post(
            f"{issuer}/o/revoke/",
            data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
            auth=(web_client.client_id, web_client.plain_secret),
            timeout=10,
        )
        with pytest.raises(OAuthError):
            session_for(web_client).refresh_token(f"{issuer}/o/token/", refresh_token=token["refresh_token"])


class TestDiscovery:
    @pytest.mark.parametrize(
        "path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
    )
    def test_metadata(self, issuer, path):
        response = requests.get(issuer + path, timeout=10)
        assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
        doc = response.json()
        assert doc["issuer"] == issuer
        for key in (
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "introspection_endpoint",
            "revocation_endpoint",
        ):
            assert doc[key].startswith(issuer + "/")
        assert doc["code_challenge_methods_supported"] == ["S256"]
        assert doc["response_types_supported"] == ["code"]
        assert (
            "implicit" not in doc["grant_types_supported"] and "password" not in doc["grant_types_supported"]
        )
        assert doc["authorization_response_iss_parameter_supported"] is True
        assert set(doc["token_endpoint_auth_methods_supported"]) == {
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",  # public clients (PKCE)
        }
        assert "none" not in doc["introspection_endpoint_auth_methods_supported"]
        assert "private_key_jwt" in doc["introspection_endpoint_auth_methods_supported"]
        assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "RS384", "ES256", "ES384"]

    def test_jwks_and_key_rotation(self, issuer, m2m_client):
        before = {k["kid"] for k in requests.get(f"{issuer}/o/jwks/", timeout=10).json()["keys"]}
        old_token = cc_token(issuer, m2m_client).json()["access_token"]
        call_command("rotate_signing_key", "--publish-only", stdout=StringIO())
        published = {k["kid"] for k in requests.get(f"{issuer}/o/jwks/", timeout=10).json()["keys"]}
        assert before < published  # next key published before it signs
        call_command("rotate_signing_key", stdout=StringIO())
        after = requests.get(f"{issuer}/o/jwks/", timeout=10).json()["keys"]
        assert before <= {k["kid"] for k in after}  # retiring keys still verify
        from authlib.jose import JsonWebKey, jwt

        claims = jwt.decode(old_token, JsonWebKey.import_key_set({"keys": after}))
        assert claims["client_id"] == m2m_client.client_id
        new_token = cc_token(issuer, m2m_client).json()["access_token"]
        import base64
        import json

        head = json.loads(base64.urlsafe_b64decode(new_token.split(".")[0] + "=="))
        assert head["kid"] in published - before

    def test_cors_preflight_on_token_but_not_authorize(self, issuer):
        token = requests.options(
            f"{issuer}/o/token/",
            headers={"Origin": "https://spa.example", "Access-Control-Request-Method": "POST"},
            timeout=10,
        )
        assert token.status_code == 204 and token.headers["Access-Control-Allow-Origin"] == "*"
        authorize = requests.get(
            f"{issuer}/o/authorize/",
            headers={"Origin": "https://spa.example"},
            allow_redirects=False,
            timeout=10,
        )
        assert "Access-Control-Allow-Origin" not in authorize.headers


class TestConsent:
    def test_consent_shown_once_then_remembered(self, browser, web_client):
        get_code(browser, web_client)
        params = authorize_params(web_client)
        params.pop("_verifier")
        again = browser.get("/o/authorize/?" + urlencode(params))
        assert again.status_code == 302 and "code=" in again["Location"]
        forced = browser.get("/o/authorize/?" + urlencode({**params, "prompt": "consent"}))
        assert forced.status_code == 200

    def test_first_party_client_skips_consent(self, browser, make_client):
        client = make_client(name="Portal app", skip_consent=True)
        params = authorize_params(client)
        params.pop("_verifier")
        response = browser.get("/o/authorize/?" + urlencode(params))
        assert response.status_code == 302 and "code=" in response["Location"]

    def test_prompt_none_without_consent_or_session(self, client, browser, web_client):
        params = authorize_params(web_client, prompt="none")
        params.pop("_verifier")
        no_consent = parse_qs(urlparse(browser.get("/o/authorize/?" + urlencode(params))["Location"]).query)
        assert no_consent["error"] == ["consent_required"]
        anonymous = client.get("/o/authorize/?" + urlencode(params))
        query = parse_qs(urlparse(anonymous["Location"]).query)
        assert query["error"] == ["login_required"] and query["state"] == [params["state"]]

    def test_prompt_login_asks_for_the_password_again_without_signing_out(
        self, issuer, browser, web_client, member
    ):
        from tests.factories import DEFAULT_PASSWORD

        get_code(browser, web_client)  # consent given once
        params = authorize_params(web_client, prompt="login")
        verifier = params.pop("_verifier")
        response = browser.get("/o/authorize/?" + urlencode(params))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
        next_url = parse_qs(urlparse(response["Location"]).query)["next"][0]
        assert "prompt" not in next_url
        assert browser.get("/portal/").status_code == 200  # still signed in
        reauth = browser.post(response["Location"], {"password": DEFAULT_PASSWORD})
        assert reauth.status_code == 302 and reauth["Location"] == next_url
        back = browser.get(next_url)
        code = parse_qs(urlparse(back["Location"]).query)["code"][0]
        token = session_for(web_client).fetch_token(
            f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=verifier
        )
        from tests.oauth.conftest import verify_id_token

        claims = verify_id_token(
            token["id_token"], issuer=issuer, client_id=web_client.client_id, nonce=params["nonce"]
        )
        import time

        assert abs(claims["auth_time"] - time.time()) < 60  # the re-authentication just now

    def test_max_age_with_prompt_none_is_login_required(self, browser, web_client, member):
        from django.utils import timezone

        get_code(browser, web_client)
        type(member).objects.filter(pk=member.pk).update(last_login=timezone.now() - timedelta(hours=2))
        params = authorize_params(web_client, prompt="none", max_age="60")
        params.pop("_verifier")
        response = browser.get("/o/authorize/?" + urlencode(params))
        query = parse_qs(urlparse(response["Location"]).query)
        assert query["error"] == ["login_required"] and query["state"] == [params["state"]]
        assert browser.get("/portal/").status_code == 200  # not signed out

    def test_connected_apps_lists_and_revokes(self, issuer, browser, web_client):
        code, params = get_code(browser, web_client)
        token = session_for(web_client).fetch_token(
            f"{issuer}/o/token/",
            grant_type="authorization_code",
            code=code,
            code_verifier=params["_verifier"],
        )
        page = browser.get("/account/connected-apps/")
        assert web_client.name in page.content.decode()
        response = browser.post("/account/connected-apps/", {"client_id": web_client.client_id})
        assert response.status_code == 303
        assert (
            requests.get(
                f"{issuer}/o/userinfo/",
                headers={"Authorization": f"Bearer {token['access_token']}"},
                timeout=10,
            ).status_code
            == 401
        )
        params2 = authorize_params(web_client)
        params2.pop("_verifier")
        assert browser.get("/o/authorize/?" + urlencode(params2)).status_code == 200  # asked again


def test_createclient_command_prints_json(oauth_project):
    import json

    out = StringIO()
    call_command(
        "createclient",
        "--project",
        oauth_project.slug,
        "--name",
        "CLI",
        "--grant",
        "client_credentials",
        "--scope",
        "openid portal.read",
        "--role",
        "admin",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    credentials = json.loads(out.getvalue())
    assert set(credentials) == {"client_id", "client_secret"}
    client = Client.objects.get(client_id=credentials["client_id"])
    assert client.role == "admin" and client.allowed_grant_types == ["client_credentials"]
    public = StringIO()
    call_command(
        "createclient",
        "--project",
        oauth_project.slug,
        "--name",
        "SPA",
        "--grant",
        "authorization_code",
        "--redirect-uri",
        "https://spa.example/cb",
        "--public",
        "--json",
        stdout=public,
        stderr=StringIO(),
    )
    assert set(json.loads(public.getvalue())) == {"client_id"}


def test_query_string_token_is_refused(issuer, m2m_client, browser, web_client):
    code, params = get_code(browser, web_client)
    token = session_for(web_client).fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=params["_verifier"]
    )
    response = requests.get(f"{issuer}/o/userinfo/?access_token={token['access_token']}", timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    api = requests.get(f"{issuer}/api/v1/projects/?access_token={token['access_token']}", timeout=10)
    assert api.status_code == 401


def test_userinfo_needs_a_user_token(issuer, m2m_client):
    token = cc_token(issuer, m2m_client).json()["access_token"]
    response = requests.get(f"{issuer}/o/userinfo/", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
