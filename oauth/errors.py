"""The OAuth error vocabulary: RFC 6749 / RFC 6750 / OIDC errors as classes, one way to render each.

Every class carries its RFC `error` code, HTTP status and a default human description (an
instance may give a more precise one). Views never spell error codes or bodies themselves:

- `error.response()`: the JSON error of the token, introspection and revocation endpoints
  (RFC 6749 §5.2), never cached; `InvalidClient` answers 401 with `WWW-Authenticate: Basic`.
- `BearerTokenError` subclasses (`InvalidToken`, …) answer a protected resource (userinfo) with
  `WWW-Authenticate: Bearer error=…, error_description=…` (RFC 6750 §3).
- `error.redirect_url(redirect_uri, state=…, issuer=…)`: an authorization error sent back to the
  client (RFC 6749 §4.1.2.1) with `state` and `iss` (RFC 9207).
- `with_description(request, response)`: gives responses made by DOT/oauthlib the same shape.
"""

from __future__ import annotations

import json
from typing import ClassVar
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse


class OAuthError(Exception):
    """An OAuth protocol error (not an `identity.errors.ApplicationError`: clients switch on
    the RFC code, and the body is the RFC's, not the portal API's envelope)."""

    error: ClassVar[str] = ""
    status: ClassVar[int] = 400
    description: str = ""

    def __init__(self, description: str | None = None) -> None:
        self.description = description or type(self).description
        super().__init__(self.description)

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def add_headers(self, response: HttpResponse) -> None:
        # RFC 6749 §5.1/§5.2: token endpoint answers, errors included, are never cached.
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"

    def response(self) -> HttpResponse:
        response = JsonResponse(self.as_dict(), status=self.status)
        self.add_headers(response)
        return response

    def redirect_url(self, redirect_uri: str, *, state: str | None, issuer: str) -> str:
        """`redirect_uri` with the error, its description, `iss` and `state` (when the client sent one)."""
        params = {"error": self.error, "error_description": self.description, "iss": issuer}
        if state:
            params["state"] = state
        separator = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{separator}{urlencode(params)}"


# --- Token, introspection and revocation endpoints (RFC 6749 §5.2, RFC 7009, RFC 7662) --------------


class InvalidRequest(OAuthError):
    error = "invalid_request"
    description = "The request is missing a parameter or is malformed."


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401
    description = "Client authentication failed (unknown client, wrong secret or disabled client)."

    def add_headers(self, response: HttpResponse) -> None:
        # RFC 6749 §5.2: 401 with the scheme the client can authenticate with, whichever it used.
        super().add_headers(response)
        response["WWW-Authenticate"] = f'Basic realm="oauth", error="{self.error}"'


class InvalidGrant(OAuthError):
    error = "invalid_grant"
    description = (
        "The authorization code, refresh token or PKCE verifier is invalid, expired, revoked "
        "or was issued to another client."
    )


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"
    description = "This client may not use this grant type."


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"
    description = "This server supports authorization_code, client_credentials and refresh_token only."


class InvalidScope(OAuthError):
    error = "invalid_scope"
    description = "A requested scope is unknown or not allowed for this client."


class UnsupportedTokenType(OAuthError):
    error = "unsupported_token_type"
    description = "The token type is not supported."


class ServerError(OAuthError):
    error = "server_error"
    status = 500
    description = "The server could not complete the request."


# --- Authorization endpoint: sent to the client's redirect URI (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) --


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403
    description = "The request was denied."


class AccountNotAllowed(AccessDenied):
    """The signed-in account may not use this client (inactive member, unverified email)."""

    description = "This account may not use this application."


class SignInMethodNotAccepted(AccessDenied):
    description = (
        "This app's organisation does not accept the way you signed in. Sign out, then sign in "
        "with the method your organisation uses."
    )


class LoginRequired(OAuthError):
    error = "login_required"
    description = "The user must sign in again."


class InteractionRequired(OAuthError):
    error = "interaction_required"
    description = "The user must prove a second factor (or set one up) first."


class ConsentRequired(OAuthError):
    error = "consent_required"
    description = "The user has not approved this application."


class RequestNotSupported(OAuthError):
    error = "request_not_supported"
    description = "The request parameter is not supported."


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"
    description = "The request_uri parameter is not supported."


# --- Protected resources (RFC 6750 §3) ---------------------------------------------------------------


class BearerTokenError(OAuthError):
    """An error of a resource called with a bearer token: the header names the error too."""

    def add_headers(self, response: HttpResponse) -> None:
        super().add_headers(response)
        response["WWW-Authenticate"] = f'Bearer error="{self.error}", error_description="{self.description}"'


class BearerInvalidRequest(BearerTokenError):
    error = "invalid_request"
    description = "The request is missing a parameter or is malformed."


class InvalidToken(BearerTokenError):
    error = "invalid_token"
    status = 401
    description = "The access token is expired, revoked, malformed or invalid."


class InsufficientScope(BearerTokenError):
    error = "insufficient_scope"
    status = 403
    description = "The access token does not carry the scope this resource needs."


# The errors DOT and oauthlib put in JSON bodies, by code, for `with_description`.
_LIBRARY_ERRORS: dict[str, type[OAuthError]] = {
    cls.error: cls
    for cls in (
        InvalidRequest,
        InvalidClient,
        InvalidGrant,
        UnauthorizedClient,
        UnsupportedGrantType,
        InvalidScope,
        UnsupportedTokenType,
        AccessDenied,
        ServerError,
    )
}


def with_description(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Give a JSON error made by DOT/oauthlib our shape: a description where it left none, no
    caching, and invalid_client as 401 with `WWW-Authenticate` whichever way the client authenticated."""
    if response.status_code < 400 or "json" not in response.get("Content-Type", ""):
        return response
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return response
    code = body.get("error")
    if not code:
        return response
    error_class = _LIBRARY_ERRORS.get(code)
    if error_class is None:  # a code we have no class for: still never cached
        OAuthError().add_headers(response)
        return response
    error = error_class(body.get("error_description") or None)
    if not body.get("error_description"):
        body["error_description"] = error.description
        response.content = json.dumps(body).encode()
    if isinstance(error, InvalidClient):
        response.status_code = error.status
    error.add_headers(response)
    return response
