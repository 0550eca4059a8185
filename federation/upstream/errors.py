"""Why an upstream sign-in was refused: a stable reason code and one sentence for the person."""

from __future__ import annotations

from allauth.socialaccount.providers.oauth2.client import OAuth2Error


class UpstreamError(OAuth2Error):
    """An upstream answer we refuse. allauth's callback view catches OAuth2Error and renders
    its authentication-error page; federation/adapters.py audits `reason` and the page shows
    `message` (never a stack trace, never the token)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)


MESSAGES = {
    "provider_disabled": "This sign-in method has been turned off by your administrator.",
    "discovery_unavailable": "Your organisation's sign-in service could not be reached. Try again shortly.",
    "discovery_mismatch": "Your organisation's sign-in service is configured with a different address.",
    "discovery_unsafe_url": "Your organisation's sign-in service names an address we do not call.",
    "jwks_unavailable": "The keys of your organisation's sign-in service could not be fetched.",
    "no_id_token": "The sign-in service did not send an ID token.",
    "malformed_token": "The sign-in response could not be read.",
    "unsupported_algorithm": "The sign-in response was signed with an algorithm we do not accept.",
    "unknown_key": "The sign-in response was signed with a key the sign-in service does not publish.",
    "bad_signature": "The sign-in response's signature is not valid.",
    "wrong_issuer": "The sign-in response came from a different sign-in service.",
    "wrong_audience": "The sign-in response was meant for a different application.",
    "expired": "The sign-in response has expired. Please sign in again.",
    "issued_in_future": "The sign-in response is dated in the future; check the clocks.",
    "missing_claim": "The sign-in response is missing required information.",
    "wrong_nonce": "The sign-in response does not belong to this browser session. Please sign in again.",
}


def upstream_error(reason: str) -> UpstreamError:
    return UpstreamError(reason, MESSAGES[reason])
