"""Verification schemes: how a sender proves a request is theirs, and how its body becomes events.

One module per scheme (basic, stripe, standard, okta), each a `Scheme` subclass. The receiving
code (webhooks/receiving.py) calls, in this order and for every request:

1. `verify(endpoint, headers, body, now)` on the raw bytes, before anything parses them; it
   raises `VerificationFailed` (→ 401, the same answer whatever part failed);
2. `events(headers, body)`, which parses the verified body into the events to store; it raises
   `MalformedRequest` (→ 400) for a body the scheme cannot read.

`headers` is a dict with lower-case names. Signatures are compared with `hmac.compare_digest`;
timestamps are checked against `identity.clock` in both directions. During a secret rotation the
previous secret verifies too, until `previous_secret_expires_at` (`endpoint_secrets`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from identity.crypto import is_unreadable
from webhooks.constants import MAX_EVENT_ID_LENGTH, TIMESTAMP_TOLERANCE_SECONDS

if TYPE_CHECKING:
    from webhooks.models import WebhookEndpoint


class VerificationFailed(Exception):
    """The request is not proven to come from the endpoint's sender. The reason is for logs only."""


class MalformedRequest(Exception):
    """A verified request whose body (or challenge) the scheme cannot read; the text may be shown."""


@dataclass(frozen=True)
class ParsedEvent:
    """One event of a verified body: what is stored (`body` is text) and its parsed payload."""

    event_id: str
    event_type: str
    body: str


def body_text(body: bytes) -> str:
    """The body as text (webhook bodies are UTF-8); a MalformedRequest otherwise."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("The body is not UTF-8 text.") from None


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; a MalformedRequest for anything else."""
    text = body_text(body)
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedRequest("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise MalformedRequest("The body must be a JSON object.")
    return payload


def event_id_checked(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MalformedRequest(f"The event has no {what}.")
    if len(value) > MAX_EVENT_ID_LENGTH:
        raise MalformedRequest(f"The event's {what} is longer than {MAX_EVENT_ID_LENGTH} characters.")
    return value


def event_type_of(payload: Any, key: str = "type") -> str:
    value = payload.get(key) if isinstance(payload, dict) else None
    return value[:200] if isinstance(value, str) else ""


def body_digest(body: bytes) -> str:
    """The event id of a body that names none: its SHA-256 (hex)."""
    return hashlib.sha256(body).hexdigest()


def endpoint_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets a request may be signed with: the current one and, during a rotation's grace
    period, the previous one. Secrets no configured key can decrypt are left out."""
    candidates = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        candidates.append(endpoint.previous_secret)
    return [secret for secret in candidates if secret and not is_unreadable(secret)]


def timestamp_within_tolerance(value: str | None, now: datetime) -> int:
    """A signed Unix timestamp (decimal digits) no more than the tolerance away from `now`."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 12:
        raise VerificationFailed("timestamp missing or not a number")
    timestamp = int(value)
    if abs(now.timestamp() - timestamp) > TIMESTAMP_TOLERANCE_SECONDS:
        raise VerificationFailed("timestamp outside the tolerance")
    return timestamp


class Scheme:
    """One verification scheme. Subclasses set `name` and implement `verify` and `events`."""

    name: ClassVar[str]
    # Does this scheme verify with the endpoint's `secret`? (basic uses an OAuth client instead.)
    uses_secret: ClassVar[bool] = True
    # May the portal generate the secret? (Stripe creates its own signing secret.)
    generates_secret: ClassVar[bool] = True
    # Does a GET get an answer (a one-time verification challenge, `challenge()`)? Else 405.
    answers_get: ClassVar[bool] = False

    def verify(self, endpoint: WebhookEndpoint, headers: dict[str, str], body: bytes, now: datetime) -> None:
        raise NotImplementedError

    def events(self, headers: dict[str, str], body: bytes) -> list[ParsedEvent]:
        raise NotImplementedError

    def challenge(self, endpoint: WebhookEndpoint, headers: dict[str, str], now: datetime) -> dict:
        """The answer to a verified GET (schemes with `answers_get`): raises like `verify`, or
        MalformedRequest for a GET that is not the scheme's challenge."""
        raise NotImplementedError

    def secret_generate(self) -> str:
        raise NotImplementedError

    def secret_problem(self, secret: str) -> str | None:
        """Why `secret` cannot be this scheme's secret, or None."""
        return None


def scheme_get(name: str) -> Scheme:
    """The scheme named `name` (one of webhooks.constants.WebhookScheme)."""
    from webhooks.schemes.basic import BasicScheme
    from webhooks.schemes.okta import OktaScheme
    from webhooks.schemes.standard import StandardScheme
    from webhooks.schemes.stripe import StripeScheme

    schemes: dict[str, type[Scheme]] = {
        cls.name: cls for cls in (BasicScheme, StripeScheme, StandardScheme, OktaScheme)
    }
    try:
        return schemes[name]()
    except KeyError:
        raise LookupError(f"No webhook scheme {name!r}.") from None


__all__ = [
    "MalformedRequest",
    "ParsedEvent",
    "Scheme",
    "VerificationFailed",
    "body_digest",
    "body_text",
    "endpoint_secrets",
    "event_id_checked",
    "event_type_of",
    "json_object",
    "scheme_get",
    "timestamp_within_tolerance",
]
