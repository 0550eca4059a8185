"""Where we lean on library internals, and a loud failure when an upgrade moves them.

Written against django-oauth-toolkit 3.4.1, oauthlib 4.0.1 and django-allauth 65.22.1. Each
private method we override or call must still exist with the signature we use; the two DOT
methods we replace whole are fingerprinted, so any change to DOT's version of them means
re-reading it and carrying the change into ours (then updating the fingerprint here).
"""

from __future__ import annotations

import base64
import hashlib
import inspect
from importlib import import_module
from importlib.metadata import version

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse
from oauth2_provider import views as dot_views
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import AuthorizationCodeGrant

from audit.context import Actor
from oauth import views as our_views
from oauth.server import Server
from oauth.services import ClientInput, client_create
from oauth.validators import Validator
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory

VERSIONS = (
    f"django-oauth-toolkit {version('django-oauth-toolkit')}, oauthlib {version('oauthlib')}, "
    f"django-allauth {version('django-allauth')}"
)


def _shape(function) -> list[tuple]:
    """A signature without annotations: names, kinds and defaults are what calls depend on."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


# (base class, method, whether we override it; else we only call it)
DOT_PRIVATE = [
    (OAuth2Validator, "_load_application", True),
    (OAuth2Validator, "_create_access_token", True),
    (OAuth2Validator, "_create_refresh_token", True),
    (OAuth2Validator, "_load_id_token", False),
    (OAuth2Validator, "_set_token_value", False),
    (OAuth2Validator, "_save_id_token", False),
    (OAuth2Validator, "_save_bearer_token", False),
    (dot_views.UserInfoView, "_create_userinfo_response", True),
]
EXPECTED_SHAPES = {
    "_load_application": ["self", "client_id", "request"],
    "_create_access_token": ["self", "expires", "request", "token", "source_refresh_token"],
    "_create_refresh_token": [
        "self",
        "request",
        "refresh_token_code",
        "access_token",
        "previous_refresh_token",
    ],
    "_load_id_token": ["self", "token"],
    "_set_token_value": ["self", "token_instance", "raw_token"],
    "_save_id_token": ["self", "jti", "request", "expires", "args", "kwargs"],
    "_save_bearer_token": ["self", "token", "request", "args", "kwargs"],
    "_create_userinfo_response": ["self", "request"],
}


@pytest.mark.parametrize(("base", "name", "overridden"), DOT_PRIVATE, ids=[n for _, n, _ in DOT_PRIVATE])
def test_dot_private_methods_keep_their_signature(base, name, overridden):
    assert hasattr(base, name), f"{base.__name__}.{name} is gone ({VERSIONS})"
    names = [p[0] for p in _shape(getattr(base, name))]
    assert names == EXPECTED_SHAPES[name], f"{base.__name__}.{name} changed: {names} ({VERSIONS})"
    if overridden:
        ours = Validator if base is OAuth2Validator else our_views.UserInfoView
        assert _shape(getattr(ours, name)) == _shape(getattr(base, name))


# sha256 of DOT 3.4.1's source of the methods oauth/validators.py replaces whole.
FINGERPRINTS = {
    "_create_access_token": "b9b36b168ac8ba464970453fa934c706990a808ddf01b1bf9df2acc96de09358",
    "_load_application": "d6038203ad28e2212aa4252ca619477d065edb44911c7f663653587caf4d4ab2",
    "_create_refresh_token": "eca3713cacfd672bf15e38521c2c80511e790689cbf08458dd09db32ce7001e0",
}


@pytest.mark.parametrize("name", sorted(FINGERPRINTS))
def test_methods_we_replace_whole_are_unchanged_in_dot(name):
    source = inspect.getsource(getattr(OAuth2Validator, name))
    assert hashlib.sha256(source.encode()).hexdigest() == FINGERPRINTS[name], (
        f"DOT's OAuth2Validator.{name} changed ({VERSIONS}): re-read it, carry the change into "
        "oauth/validators.py, then update FINGERPRINTS"
    )


def test_dot_token_view_response_we_replace_is_unchanged():
    """oauth/views.py TokenView replaces DOT's authorization_flow_token_response (without its
    read-back of the token, made only to send app_authorized) while nobody listens to that signal."""
    source = inspect.getsource(dot_views.TokenView.authorization_flow_token_response)
    assert hashlib.sha256(source.encode()).hexdigest() == (
        "82abd9808f7a91785c1b83f8a9ed73a03316328acf8dbacef8120d4f1c723c59"
    ), f"DOT's TokenView.authorization_flow_token_response changed ({VERSIONS}): re-read it"


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("authenticate_client", ["self", "request", "args", "kwargs"]),
        ("save_authorization_code", ["self", "client_id", "code", "request", "args", "kwargs"]),
        ("save_bearer_token", ["self", "token", "request", "args", "kwargs"]),
    ],
)
def test_public_hooks_we_use_instead_of_private_ones(name, parameters):
    assert [p[0] for p in _shape(getattr(OAuth2Validator, name))] == parameters
    assert _shape(getattr(Validator, name)) == _shape(getattr(OAuth2Validator, name))


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("create_authorization_response", ["self", "request", "scopes", "credentials", "allow"]),
        ("validate_authorization_request", ["self", "request"]),
        ("error_response", ["self", "error", "application", "kwargs"]),
        ("redirect", ["self", "redirect_to", "application"]),
    ],
)
def test_authorization_view_methods_we_call_or_override(name, parameters):
    assert [p[0] for p in _shape(getattr(dot_views.AuthorizationView, name))] == parameters, VERSIONS


def test_dot_userinfo_view_answers_through_the_method_we_override(rf):
    class Probe(dot_views.UserInfoView):
        def _create_userinfo_response(self, request):
            return "ours"

    for method in ("get", "post"):
        assert Probe().dispatch(getattr(rf, method)("/o/userinfo/")) == "ours", VERSIONS


def test_oauthlib_still_reads_the_pkce_methods_we_narrow():
    """oauth/server.py sets the grants' private `_code_challenge_methods` to S256 only."""
    assert "_code_challenge_methods" in vars(AuthorizationCodeGrant), VERSIONS
    server = Server(Validator())
    assert set(server.auth_grant._code_challenge_methods) == {"S256"}
    assert set(server.openid_connect_auth.proxy_target._code_challenge_methods) == {"S256"}


@pytest.fixture
def confidential(db):
    data = ClientInput(name="Seam", grant_types=["client_credentials"], scopes=["openid"])
    issued = client_create(project=ProjectFactory(), actor=Actor.system(), data=data)
    return issued.client, issued.client_secret


def _oauthlib_request(django_request) -> OAuthlibRequest:
    """The oauthlib request DOT builds from a Django one (headers via DOT's public extract_headers)."""
    core = OAuthLibCore(Server(Validator()))
    return OAuthlibRequest(
        django_request.build_absolute_uri(),
        django_request.method,
        django_request.POST.urlencode(),
        core.extract_headers(django_request),
    )


def test_dot_hands_the_authorization_header_to_our_validator(rf, confidential):
    client, secret = confidential
    basic = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    request = _oauthlib_request(
        rf.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic)
    )
    # DOT decides whether a client must authenticate from the Basic header (its _extract_basic_auth).
    assert Validator().client_authentication_required(request) is True
    assert Validator().authenticate_client(request) is True
    body = _oauthlib_request(
        rf.post("/o/token/", {"grant_type": "client_credentials", "client_id": client.client_id})
    )
    body.client_secret = secret
    assert Validator().authenticate_client(body) is True


def test_dot_looks_clients_up_through_load_application(rf, confidential, monkeypatch):
    """Our _load_application (the client cache) serves DOT's public lookups."""
    client, _ = confidential
    asked = []
    monkeypatch.setattr(Validator, "_load_application", lambda self, cid, req: asked.append(cid))
    request = _oauthlib_request(rf.post("/o/token/", {"client_id": client.client_id}))
    Validator().authenticate_client_id(client.client_id, request)
    Validator().client_authentication_required(request)
    assert asked == [client.client_id, client.client_id], VERSIONS


def _session_request(http_client, user):
    request = RequestFactory().get("/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(http_client.session.session_key)
    request.user = user
    return request


def test_allauth_records_when_the_user_authenticated(client, db):
    """oauth/views.py:auth_time_of reads allauth's authentication records (their `at`)."""
    from allauth.account.authentication import get_authentication_records

    assert [p[0] for p in _shape(get_authentication_records)] == ["request", "user"], VERSIONS
    user = UserFactory()
    MembershipFactory(user=user)
    response = client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    records = get_authentication_records(_session_request(client, user), user)
    assert records and all(isinstance(record.get("at"), (int, float)) for record in records), VERSIONS
    signed_in_at = max(record["at"] for record in records)

    response = client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    request = _session_request(client, user)
    later = get_authentication_records(request, user)
    assert len(later) > len(records) and max(record["at"] for record in later) >= signed_in_at
    assert our_views.auth_time_of(request).timestamp() == pytest.approx(max(r["at"] for r in later))


# --- RP-initiated logout (oauth/views_logout.py) on DOT's RPInitiatedLogoutView -------------------

# DOT's public methods our LogoutView overrides (each calls DOT's own), with the parameters DOT
# passes: get() and form_valid() reach them through validate_logout_request().
LOGOUT_VIEW_METHODS = {
    "validate_logout_request": ["self", "id_token_hint", "client_id", "post_logout_redirect_uri"],
    "validate_logout_request_user": ["self", "id_token_hint", "client_id"],
    "get_request_application": ["self", "id_token", "client_id"],
    "validate_post_logout_redirect_uri": ["self", "application", "post_logout_redirect_uri"],
    "must_prompt": ["self", "token_user"],
    "do_logout": ["self", "application", "post_logout_redirect_uri", "state", "token_user"],
    "error_response": ["self", "error"],
}


@pytest.mark.parametrize("name", sorted(LOGOUT_VIEW_METHODS))
def test_dot_logout_view_methods_we_override(name):
    from oauth.views_logout import LogoutView

    base = dot_views.RPInitiatedLogoutView
    assert [p[0] for p in _shape(getattr(base, name))] == LOGOUT_VIEW_METHODS[name], VERSIONS
    if name in vars(LogoutView):
        assert _shape(getattr(LogoutView, name)) == _shape(getattr(base, name))


def test_dot_logout_settings_we_configure_exist():
    from oauth2_provider.settings import DEFAULTS, oauth2_settings

    for name in (
        "OIDC_RP_INITIATED_LOGOUT_ENABLED",
        "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT",
        "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS",
        "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS",
        "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS",
    ):
        assert name in DEFAULTS, f"{name} is gone ({VERSIONS})"
    assert oauth2_settings.OIDC_RP_INITIATED_LOGOUT_ENABLED is True
    assert oauth2_settings.OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS is False  # the session's end revokes


def test_dot_logout_view_goes_through_the_methods_we_override(rf, db):
    """DOT's get() (and the confirmation's form_valid()) ask our hooks in this order, and sign out
    only through do_logout()."""
    from django.contrib.auth.models import AnonymousUser

    calls: list[str] = []

    class Probe(dot_views.RPInitiatedLogoutView):
        def validate_logout_request_user(self, id_token_hint, client_id):
            calls.append("user")

        def get_request_application(self, id_token, client_id):
            calls.append("application")

        def validate_post_logout_redirect_uri(self, application, post_logout_redirect_uri):
            calls.append("redirect_uri")

        def must_prompt(self, token_user):
            calls.append("prompt")
            return False

        def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
            calls.append(f"logout {post_logout_redirect_uri} {state}")
            return "done"

    request = rf.get("/o/logout/", {"id_token_hint": "h", "post_logout_redirect_uri": "u", "state": "s"})
    request.user = AnonymousUser()
    assert Probe.as_view()(request) == "done"
    assert calls == ["user", "application", "redirect_uri", "prompt", "logout u s"], VERSIONS

    calls.clear()
    request = rf.post("/o/logout/", {"post_logout_redirect_uri": "u", "state": "s", "allow": "on"})
    request.user = AnonymousUser()
    request._dont_enforce_csrf_checks = True
    assert Probe.as_view()(request) == "done"
    assert calls == ["user", "application", "redirect_uri", "prompt", "logout u s"], VERSIONS
