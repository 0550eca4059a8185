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
    (OAuth2Validator, "_save_bearer_token", False),
    (OAuth2Validator, "_check_and_set_request_resource", True),
    (OAuth2Validator, "_validate_resource_uris", False),
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
    "_save_bearer_token": ["self", "token", "request", "args", "kwargs"],
    "_check_and_set_request_resource": ["self", "request"],
    "_validate_resource_uris": ["self", "request", "resources"],
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


# sha256 of DOT 3.4.1's source of the methods oauth/validators.py replaces whole, or whose
# behaviour it reproduces on rows read once per request (the code's grant, the refresh token with
# its access token and user): the token endpoint's read-once and use-up-once paths.
FINGERPRINTS = {
    "_create_access_token": "b9b36b168ac8ba464970453fa934c706990a808ddf01b1bf9df2acc96de09358",
    "_load_application": "d6038203ad28e2212aa4252ca619477d065edb44911c7f663653587caf4d4ab2",
    "_create_refresh_token": "eca3713cacfd672bf15e38521c2c80511e790689cbf08458dd09db32ce7001e0",
    "_check_and_set_request_resource": "83be546872406c2c6f150743dd9412b7280bd5986efe138b314af409e58e1c36",
    "_create_authorization_code": "6aa66b1d03974f3e4c4af72beb3c9b02dec3b16c78dd73f3a831633878577338",
    "_save_id_token": "fc3dac719d350eeea63b743e929d0890e1d8826df03668dc36d8892a59754b97",
    "_save_bearer_token": "bbf80b89d0b5645914c9cfc3081c210bafa76d726f5130be98c191c9c3934b7c",
    "save_bearer_token": "8c29620f26f8e1cd0f1bf4501979e530ead4ace7bf22ca56c4275289f7f7712c",
    "validate_code": "7c0d04cfdf75a27ffb705ec5a58b1ae1add8f3c252b74b3e499db26c8c9c308d",
    "validate_refresh_token": "50e7ceb3ce23bfecfd26257cb834b5602343a32f65cef7e1c614af4992d31cbc",
    "confirm_redirect_uri": "96af690d4001320671936c185092c932b02dc1e5ddd763334c732972da5d9dc2",
    "get_code_challenge": "1dfc26e1ae3c92270664bf03cdb981218c8f70712495af1127241b78a79bca06",
    "get_code_challenge_method": "a7b09d76e43c2e32d2c3c59fd4dba48528dc3036284cf8b1a251fee2f793d1a9",
    "get_authorization_code_nonce": "d3b7e7749e0175e642030b439b6899032bf2f7bf329c7a5d28356d9354f82134",
    "get_authorization_code_scopes": "53c4f795f10b3afdd073ecb5ea043822022af1c192b8539b59c4ffbc215cdb07",
    "invalidate_authorization_code": "71143192a5cd413d660883ec72ad80dbde477128f2b84db322eb597688b3fab5",
}


@pytest.mark.parametrize("name", sorted(FINGERPRINTS))
def test_methods_we_replace_whole_are_unchanged_in_dot(name):
    source = inspect.getsource(getattr(OAuth2Validator, name))
    assert hashlib.sha256(source.encode()).hexdigest() == FINGERPRINTS[name], (
        f"DOT's OAuth2Validator.{name} changed ({VERSIONS}): re-read it, carry the change into "
        "oauth/validators.py, then update FINGERPRINTS"
    )


def test_dot_refresh_token_revoke_we_reproduce_is_unchanged():
    """oauth/validators.py `_use_up_refresh_token` retires a rotated pair as DOT's
    RefreshToken.revoke() does (revoked, access token pointer cleared, access token deleted)."""
    from oauth2_provider.models import AbstractRefreshToken

    source = inspect.getsource(AbstractRefreshToken.revoke)
    assert hashlib.sha256(source.encode()).hexdigest() == (
        "bb264f58c4f57543fb730ced75781e67289794c585158c67c55a6c4665505741"
    ), f"DOT's RefreshToken.revoke changed ({VERSIONS}): re-read it"


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
        ("validate_code", ["self", "client_id", "code", "client", "request", "args", "kwargs"]),
        ("validate_refresh_token", ["self", "refresh_token", "client", "request", "args", "kwargs"]),
        ("confirm_redirect_uri", ["self", "client_id", "code", "redirect_uri", "client", "args", "kwargs"]),
        ("get_code_challenge", ["self", "code", "request"]),
        ("get_code_challenge_method", ["self", "code", "request"]),
        ("get_authorization_code_nonce", ["self", "client_id", "code", "redirect_uri", "request"]),
        ("get_authorization_code_scopes", ["self", "client_id", "code", "redirect_uri", "request"]),
        ("invalidate_authorization_code", ["self", "client_id", "code", "request", "args", "kwargs"]),
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
