"""`okta`: Okta event hooks (https://developer.okta.com/docs/concepts/event-hooks/).

Okta authenticates every request only by a header whose value the administrator configures at
Okta; here the header is `Authorization` and its value is the endpoint's secret (compared in
constant time; no HMAC exists). When the hook is created or verified at Okta, Okta sends a GET
with `X-Okta-Verification-Challenge`, answered `{"verification": "<the challenge>"}`. A POST
carries `data.events`, a list of System Log events; each is stored as its own event, its id its
`uuid`, its body its own JSON object.
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import datetime

from webhooks.constants import MAX_CHALLENGE_LENGTH
from webhooks.schemes import (
    MalformedRequest,
    ParsedEvent,
    Scheme,
    VerificationFailed,
    endpoint_secrets,
    event_id_checked,
    event_type_of,
    json_object,
)

MIN_SECRET_LENGTH = 16


class OktaScheme(Scheme):
    name = "okta"
    answers_get = True  # the one-time verification challenge

    def verify(self, endpoint, headers: dict[str, str], body: bytes, now: datetime) -> None:
        presented = headers.get("authorization", "").encode("utf-8", "replace")
        matched = False
        for secret in endpoint_secrets(endpoint, now):  # no early exit
            matched |= hmac.compare_digest(presented, secret.encode())
        if not presented or not matched:
            raise VerificationFailed("the Authorization header is missing or wrong")

    def challenge(self, endpoint, headers: dict[str, str], now: datetime) -> dict:
        self.verify(endpoint, headers, b"", now)
        value = headers.get("x-okta-verification-challenge", "")
        if not value or len(value) > MAX_CHALLENGE_LENGTH:
            raise MalformedRequest("A GET must carry X-Okta-Verification-Challenge.")
        return {"verification": value}

    def events(self, headers: dict[str, str], body: bytes) -> list[ParsedEvent]:
        payload = json_object(body)
        data = payload.get("data")
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
            raise MalformedRequest("An Okta event hook body has data.events, a list of events.")
        return [
            ParsedEvent(
                event_id=event_id_checked(event.get("uuid"), "uuid"),
                event_type=event_type_of(event, "eventType"),
                body=json.dumps(event, ensure_ascii=False, separators=(",", ":")),
            )
            for event in events
        ]

    def secret_generate(self) -> str:
        return secrets.token_urlsafe(32)

    def secret_problem(self, secret: str) -> str | None:
        if (
            len(secret) < MIN_SECRET_LENGTH
            or not (secret.isascii() and secret.isprintable())
            or secret != secret.strip()
        ):
            return (
                f"The Authorization header value must be at least {MIN_SECRET_LENGTH} printable "
                "ASCII characters, without spaces at either end."
            )
        return None
