"""Client authentication with a secret (RFC 6749 §2.3.1), for the token and introspection endpoints.

One reader of the credentials a request presents and one check of a secret (the current
one, or the previous one while its rotation grace lasts). The validator (token,
revocation) and introspection both call these two functions and nothing else.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from django.contrib.auth.hashers import check_password

from identity.clock import clock


def _is_basic(authorization: str) -> bool:
    return (authorization or "").strip().partition(" ")[0].lower() == "basic"


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(client_id, secret) from an `Authorization: Basic …` header value, else None.

    RFC 6749 §2.3.1: id and secret are each form-urlencoded, joined by the first colon,
    then base64-encoded (RFC 7617, UTF-8). The scheme name is case-insensitive (RFC 7235
    §2.1). A malformed value is None, never an exception.
    """
    encoded = (authorization or "").strip().partition(" ")[2]
    if not _is_basic(authorization) or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def presented_credentials(
    *, authorization: str, client_id: str | None, client_secret: str | None
) -> tuple[str, str] | None:
    """The (client_id, secret) a request authenticates with: the Basic header, else the body.

    A client uses one method per request (RFC 6749 §2.3): when a Basic header is sent,
    only the header counts, even if it is malformed.
    """
    if _is_basic(authorization):
        return basic_credentials(authorization)
    if client_id and client_secret:
        return client_id, client_secret
    return None


def client_secret_matches(client, secret: str) -> bool:
    """Is `secret` the client's current secret, or its retiring one within the grace period?

    Stored secrets are always hashed (DOT's ClientSecretField hashes on save), so Django's
    `check_password` decides, in constant time for our keyed hasher. An empty secret
    never matches a confidential client (its stored hash is of a 384-bit secret).
    """
    if client.client_secret and check_password(secret, client.client_secret):
        return True
    return bool(
        client.retiring_client_secret
        and client.retiring_secret_expires_at
        and client.retiring_secret_expires_at > clock.now()
        and check_password(secret, client.retiring_client_secret)
    )
