"""OAuth error responses: RFC 6749 codes, always with a human description."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

DESCRIPTIONS = {
    "invalid_request": "The request is missing a parameter or is malformed.",
    "invalid_client": "Client authentication failed (unknown client, wrong secret or disabled client).",
    "invalid_grant": "The authorization code, refresh token or PKCE verifier is invalid, expired, revoked or was issued to another client.",
    "unauthorized_client": "This client may not use this grant type.",
    "unsupported_grant_type": "This server supports authorization_code, client_credentials and refresh_token only.",
    "invalid_scope": "A requested scope is unknown or not allowed for this client.",
    "unsupported_token_type": "The token type is not supported.",
    "access_denied": "The request was denied.",
    "server_error": "The server could not complete the request.",
}


def with_description(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Add `error_description` where oauthlib left it out; answer invalid_client in the client's scheme."""
    if response.status_code < 400 or "json" not in response.get("Content-Type", ""):
        return response
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return response
    error = body.get("error")
    if not error:
        return response
    if not body.get("error_description") and error in DESCRIPTIONS:
        body["error_description"] = DESCRIPTIONS[error]
        response.content = json.dumps(body).encode()
    if error == "invalid_client":
        response.status_code = 401
        response["WWW-Authenticate"] = 'Basic realm="oauth", error="invalid_client"'
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
