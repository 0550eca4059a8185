"""`standard`: Standard Webhooks 1.0 (https://www.standardwebhooks.com/, spec/standard-webhooks.md).

Headers `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a
space-separated list of `<version>,<base64>`; only `v1` (HMAC-SHA256) entries are checked
(`v1a`, asymmetric, is ignored), any one may match. The signed content is
`"{webhook-id}.{webhook-timestamp}." + raw body`, keyed with the base64-decoded part of the
`whsec_…` secret. The timestamp must be within the tolerance in the past or the future. The event
id is `webhook-id`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime

from webhooks.schemes import (
    ParsedEvent,
    Scheme,
    VerificationFailed,
    body_text,
    endpoint_secrets,
    event_id_checked,
    event_type_of,
    json_object,
    timestamp_within_tolerance,
)

PREFIX = "whsec_"
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64


def secret_key(secret: str) -> bytes | None:
    """The HMAC key of a `whsec_<base64>` secret, or None when it is not one."""
    if not secret.startswith(PREFIX):
        return None
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES else None


def signatures_of(header: str) -> list[bytes]:
    """The decoded `v1` signatures of a webhook-signature header (others and bad base64 skipped)."""
    found = []
    for entry in header.split():
        version, comma, value = entry.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def sign(*, secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The `v1,<base64>` signature of a message (what a sender puts in webhook-signature)."""
    key = secret_key(secret)
    if key is None:
        raise ValueError("not a whsec_ secret")
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class StandardScheme(Scheme):
    name = "standard"

    def verify(self, endpoint, headers: dict[str, str], body: bytes, now: datetime) -> None:
        msg_id = headers.get("webhook-id")
        timestamp = headers.get("webhook-timestamp")
        header = headers.get("webhook-signature")
        if not msg_id or not timestamp or not header:
            raise VerificationFailed("a webhook-id, webhook-timestamp or webhook-signature header is missing")
        signatures = signatures_of(header)
        signed = f"{msg_id}.{timestamp}.".encode("utf-8", "replace") + body
        matched = False
        for secret in endpoint_secrets(endpoint, now):
            key = secret_key(secret)
            if key is None:
                continue
            expected = hmac.new(key, signed, hashlib.sha256).digest()
            for signature in signatures:  # no early exit
                matched |= hmac.compare_digest(expected, signature)
        if not matched:
            raise VerificationFailed("no v1 signature matches")
        timestamp_within_tolerance(timestamp, now)

    def events(self, headers: dict[str, str], body: bytes) -> list[ParsedEvent]:
        payload = json_object(body)
        return [
            ParsedEvent(
                event_id=event_id_checked(headers.get("webhook-id"), "webhook-id"),
                event_type=event_type_of(payload),
                body=body_text(body),
            )
        ]

    def secret_generate(self) -> str:
        return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()

    def secret_problem(self, secret: str) -> str | None:
        if secret_key(secret) is None:
            return (
                f"A Standard Webhooks secret is whsec_ followed by the base64 of "
                f"{MIN_KEY_BYTES} to {MAX_KEY_BYTES} random bytes."
            )
        return None
