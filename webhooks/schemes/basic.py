"""`basic`: HTTP Basic with the id and secret of one of the project's OAuth clients.

The sender puts the client's credentials in the URL (`https://<client_id>:<secret>@host/…`) or the
`Authorization: Basic …` header. The secret is checked by oauth's one client-secret check
(`oauth.client_auth.client_secret_matches`: the current secret, or the retiring one during its
grace period), so rotating the client's secret rotates the webhook's too. The body is stored as
sent; its event id is its SHA-256 (an identical body is the same event).
"""

from __future__ import annotations

import hmac
import json
from datetime import datetime

from oauth.client_auth import basic_credentials, client_secret_matches
from webhooks.schemes import (
    ParsedEvent,
    Scheme,
    VerificationFailed,
    body_digest,
    body_text,
    event_type_of,
)


def client_may_sign(client) -> bool:
    """Can this OAuth client authenticate a webhook? Active, confidential, with a secret."""
    return bool(
        client is not None
        and client.is_active
        and client.client_type == client.CLIENT_CONFIDENTIAL
        and not client.uses_private_key_jwt
    )


class BasicScheme(Scheme):
    name = "basic"
    uses_secret = False
    generates_secret = False

    def verify(self, endpoint, headers: dict[str, str], body: bytes, now: datetime) -> None:
        credentials = basic_credentials(headers.get("authorization", ""))
        if credentials is None:
            raise VerificationFailed("no Basic credentials")
        client = endpoint.client
        if not client_may_sign(client):
            raise VerificationFailed("the endpoint's client cannot authenticate")
        same_id = hmac.compare_digest(credentials[0].encode(), client.client_id.encode())
        if not (client_secret_matches(client, credentials[1]) and same_id):
            raise VerificationFailed("wrong client id or secret")

    def events(self, headers: dict[str, str], body: bytes) -> list[ParsedEvent]:
        text = body_text(body)
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):
            payload = None  # any text body is accepted: the handler decides what it means
        return [ParsedEvent(event_id=body_digest(body), event_type=event_type_of(payload), body=text)]
