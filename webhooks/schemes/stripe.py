"""`stripe`: the `Stripe-Signature` header (https://docs.stripe.com/webhooks#verify-manually).

`Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]`: HMAC-SHA256, keyed with the endpoint's
`whsec_…` signing secret (the whole string, as Stripe's libraries do), of `"{t}." + raw body`.
Any one `v1` may match (Stripe sends several while a rolled secret is still valid); `v0` and
other schemes are ignored. `t` must be within the tolerance in the past or the future. The event
id is the body's `id` (`evt_…`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
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

_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=_-]{16,200}$")


def signature_header_parse(header: str) -> tuple[str, list[str]]:
    """(t, [v1 signatures]) of a Stripe-Signature header; VerificationFailed when malformed."""
    timestamps, signatures = [], []
    for item in header.split(","):
        key, equals, value = item.strip().partition("=")
        if not equals:
            raise VerificationFailed("malformed Stripe-Signature item")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not signatures:
        raise VerificationFailed("Stripe-Signature needs one t and at least one v1")
    return timestamps[0], signatures


class StripeScheme(Scheme):
    name = "stripe"
    generates_secret = False  # Stripe shows the endpoint's signing secret; it is pasted here

    def verify(self, endpoint, headers: dict[str, str], body: bytes, now: datetime) -> None:
        header = headers.get("stripe-signature")
        if not header:
            raise VerificationFailed("no Stripe-Signature header")
        timestamp, signatures = signature_header_parse(header)
        signed = timestamp.encode("utf-8", "replace") + b"." + body
        matched = False
        for secret in endpoint_secrets(endpoint, now):
            expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
            for signature in signatures:  # no early exit
                matched |= hmac.compare_digest(expected, signature.encode("utf-8", "replace"))
        if not matched:
            raise VerificationFailed("no v1 signature matches")
        timestamp_within_tolerance(timestamp, now)

    def events(self, headers: dict[str, str], body: bytes) -> list[ParsedEvent]:
        payload = json_object(body)
        return [
            ParsedEvent(
                event_id=event_id_checked(payload.get("id"), "id"),
                event_type=event_type_of(payload),
                body=body_text(body),
            )
        ]

    def secret_problem(self, secret: str) -> str | None:
        if not _SECRET.match(secret):
            return "Paste the endpoint's signing secret from Stripe: it starts with whsec_."
        return None
