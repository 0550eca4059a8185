"""OpenID Connect RP-Initiated Logout 1.0: the discovery document's `end_session_endpoint`
(`/o/logout/`, GET and POST).

DOT's RPInitiatedLogoutView, configured in settings.OAUTH2_PROVIDER (OIDC_RP_INITIATED_LOGOUT_*:
no prompt with a valid hint, expired hints accepted, DOT deletes no tokens) and adjusted at its
public methods, each pinned in tests/oauth/test_library_seams.py:

- a valid `id_token_hint` (signed by us, our `iss`, a stored ID token of an active client, issued
  in this browser's session to the signed-in user) signs out without a question; anything else
  (no hint, a malformed or foreign one, another user's, another session's) gets the confirmation
  page, so a third party cannot sign people out;
- `post_logout_redirect_uri` is used only when it is exactly one of the client's registered
  `post_logout_redirect_uris`; otherwise it is ignored and the browser lands on our signed-out page;
- signing out is Django's logout: accounts ends the session record, which revokes the tokens
  issued in the session and sends back-channel logout (accounts -> session_ended -> oauth).
"""

from __future__ import annotations

import base64
import json

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import (
    ClientIdMissmatch,
    InvalidIDTokenError,
    InvalidOIDCClientError,
    InvalidOIDCRedirectURIError,
    LogoutDenied,
)

from oauth.models import Client
from oauth.views import session_id_hash

# Marks a POST as our confirmation form (CSRF-checked), not a logout request an RP sent by POST.
CONFIRM_FIELD = "confirm"


def _not_called(request: HttpRequest) -> HttpResponseBase:
    return HttpResponse(status=500)


def _csrf_refusal(request: HttpRequest) -> HttpResponseBase | None:
    """Django's CSRF check (the 403 page when it fails), for a view that is csrf_exempt."""
    return CsrfViewMiddleware(_not_called).process_view(request, _not_called, (), {})


def _unverified_claims(token: str) -> dict:
    """The payload of a JWS whose signature was already checked."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class LogoutView(dot_views.RPInitiatedLogoutView):
    template_name = "oauth/logout.html"

    def dispatch(self, request, *args, **kwargs):
        self.hint_sid = ""
        self.redirect_allowed = False
        if request.method == "POST" and CONFIRM_FIELD not in request.POST:
            # A logout request sent by POST (RP-Initiated Logout §2): 303 to the same request as
            # GET. One code path, and the session cookie (SameSite=Lax) travels with a top-level
            # GET but not with another site's POST: without it the person would look signed out
            # already, and the RP would be told so while they stay signed in here.
            response = redirect(f"{request.path}?{request.POST.urlencode()}")
            response.status_code = 303
            return response
        if request.method == "POST":
            # Our confirmation form: the view is csrf_exempt for RPs' POSTs, so check it here.
            if (refusal := _csrf_refusal(request)) is not None:
                return refusal
        return super().dispatch(request, *args, **kwargs)

    def validate_logout_request_user(self, id_token_hint, client_id):
        """DOT's check of the hint (our signature and `iss`, an ID token row we stored; expired
        ones accepted), but a hint that does not pass — malformed, foreign, revoked, issued to
        another client than `client_id`, to a disabled client — counts as no hint: the person is
        asked, rather than shown an error."""
        try:
            id_token = super().validate_logout_request_user(id_token_hint, client_id)
        except (InvalidIDTokenError, ClientIdMissmatch, ValueError, TypeError, KeyError):
            return None
        if id_token is None or not id_token.application.is_active:
            return None
        self.hint_sid = str(_unverified_claims(id_token_hint).get("sid") or "")
        return id_token

    def get_request_application(self, id_token, client_id):
        """DOT's, but an unknown `client_id` is no client (DOT's lookup would raise: a 500)."""
        try:
            return super().get_request_application(id_token, client_id)
        except Client.DoesNotExist:
            return None

    def validate_post_logout_redirect_uri(self, application, post_logout_redirect_uri):
        """DOT's checks, then character for character one of the client's registered
        `post_logout_redirect_uris` (DOT lets a loopback URI's port vary), of an active client.
        A URI that fails is not an error: it is not used, and never redirected to."""
        if not post_logout_redirect_uri:
            return
        try:
            super().validate_post_logout_redirect_uri(application, post_logout_redirect_uri)
        except (InvalidOIDCClientError, InvalidOIDCRedirectURIError):
            return
        self.redirect_allowed = (
            application.is_active
            and post_logout_redirect_uri in application.post_logout_redirect_uris.split()
        )

    def must_prompt(self, token_user):
        """DOT's rule (a signed-in person is asked unless the hint names them), and the hint must
        come from this browser's session at the OP (its `sid`; RP-Initiated Logout §2): an older
        ID token of the same person does not sign them out without a question."""
        if super().must_prompt(token_user):
            return True
        if not self.request.user.is_authenticated:
            return False
        return self.hint_sid != session_id_hash(self.request)

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        """DOT's (Django's logout), then to the registered URI with `state`, else to our
        signed-out page (DOT: the site's root)."""
        if post_logout_redirect_uri and self.redirect_allowed:
            return super().do_logout(application, post_logout_redirect_uri, state, token_user)
        super().do_logout(application, None, None, token_user)
        return redirect("oauth:logged_out")

    def error_response(self, error):
        """DOT renders errors with our template; "Stay signed in" (LogoutDenied) is no error."""
        response = super().error_response(error)
        if isinstance(error, LogoutDenied):
            response.status_code = 200
        return response


@never_cache
def logged_out(request: HttpRequest) -> HttpResponse:
    """Where a logout without a (usable) post-logout redirect URI ends."""
    return render(request, "oauth/logged_out.html")
