"""The allauth provider class of every upstream provider (kinds google, oidc, okta, auth0, cognito).

One class, `id = "oidc"`, one allauth app per IdentityProvider (built by
federation/adapters.py), URLs `/accounts/oidc/<provider_id>/login/` and `…/login/callback/`.
Google goes through this path too, with Google's discovery document, rather than allauth's
`google` provider: that one skips the signature check of tokens from the token endpoint and
has a single callback URL for every Google app, which cannot tell two projects' apps apart.
"""

from __future__ import annotations

import secrets

from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from requests import RequestException

from federation.upstream.errors import UpstreamError, upstream_error
from federation.upstream.views import UpstreamOAuth2Adapter, nonce_remember

PROVIDER_CLASS_ID = "oidc"


class UpstreamProvider(OpenIDConnectProvider):
    id = PROVIDER_CLASS_ID
    name = "OpenID Connect"
    package = "federation.upstream"  # allauth includes federation/upstream/urls.py
    oauth2_adapter_class = UpstreamOAuth2Adapter
    supports_token_authentication = False  # headless ID-token sign-in is not offered

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        """allauth's authorization redirect, plus a `nonce` remembered for this state in the
        session; an unreachable provider ends on the error page, not a 500."""
        if not self.app.settings.get("active", True):
            return render_authentication_error(request, self, exception=upstream_error("provider_disabled"))
        # Only sign-in: allauth's "connect" (link to whoever is signed in) and "redirect" processes
        # would bypass the matching rules of federation/flows/sign_in.py.
        process = AuthProcess.LOGIN
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None)
        auth_params = dict(self.get_auth_params() if auth_params is None else auth_params)
        auth_params["nonce"] = nonce
        try:
            return super().redirect(
                request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
            )
        except (UpstreamError, RequestException) as exc:
            error = exc if isinstance(exc, UpstreamError) else None
            return render_authentication_error(request, self, exception=error or exc)

    def stash_redirect_state(self, request, process, next_url=None, data=None, state_id=None, **kwargs):
        state_id = super().stash_redirect_state(request, process, next_url, data, state_id=state_id, **kwargs)
        nonce_remember(request, state_id=state_id, nonce=kwargs["nonce"])
        return state_id


provider_classes = [UpstreamProvider]
