"""allauth's OpenID Connect adapter with our verification, and the login/callback views."""

from __future__ import annotations

from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest
from django.urls import reverse

from federation.upstream.errors import upstream_error
from federation.upstream.metadata import discovery_document
from federation.upstream.tokens import id_token_verify

NONCES_SESSION_KEY = "federation.nonces"
MAX_PENDING_NONCES = 10  # one per sign-in started in this browser and not finished


def nonce_remember(request: HttpRequest, *, state_id: str, nonce: str) -> None:
    """Bind `nonce` to this browser session and this authorization request's `state`."""
    pending = dict(request.session.get(NONCES_SESSION_KEY, {}))
    pending[state_id] = nonce
    request.session[NONCES_SESSION_KEY] = dict(list(pending.items())[-MAX_PENDING_NONCES:])


def nonce_pop(request: HttpRequest, *, state_id: str | None) -> str | None:
    """The nonce sent with `state_id` from this session, forgotten once read (single use)."""
    pending = dict(request.session.get(NONCES_SESSION_KEY, {}))
    nonce = pending.pop(state_id or "", None)
    request.session[NONCES_SESSION_KEY] = pending
    return nonce


class UpstreamOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    @property
    def openid_config(self) -> dict:
        provider = self.get_provider()
        return discovery_document(
            issuer=provider.app.settings["server_url"], accepted_issuers=provider.app.settings["issuers"]
        )

    def complete_login(self, request: HttpRequest, app, token, **kwargs):
        """The SocialLogin from the verified ID token's claims (userinfo is not used: every
        claim we rely on, `email_verified` included, comes signed)."""
        id_token = (kwargs.get("response") or {}).get("id_token")
        if not id_token:
            raise upstream_error("no_id_token")
        claims = id_token_verify(
            id_token=id_token,
            jwks_uri=self.openid_config["jwks_uri"],
            issuers=set(app.settings["issuers"]),
            client_id=app.client_id,
            nonce=nonce_pop(request, state_id=request.GET.get("state")),
        )
        return self.get_provider().sociallogin_from_response(request, {"id_token": claims})

    def get_callback_url(self, request: HttpRequest, app) -> str:
        from federation.upstream.provider import PROVIDER_CLASS_ID

        path = reverse(f"{PROVIDER_CLASS_ID}_callback", kwargs={"provider_id": self.provider_id})
        return build_absolute_uri(request, path, self.redirect_uri_protocol)


@login_not_required
def login(request: HttpRequest, provider_id: str):
    try:
        return OAuth2LoginView.adapter_view(UpstreamOAuth2Adapter(request, provider_id))(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404("No such identity provider.") from exc


@login_not_required
def callback(request: HttpRequest, provider_id: str):
    try:
        return OAuth2CallbackView.adapter_view(UpstreamOAuth2Adapter(request, provider_id))(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404("No such identity provider.") from exc
