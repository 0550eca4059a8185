"""OpenID Connect Back-Channel Logout 1.0: when a browser session ends, client apps are told.

`session_logout` (called by oauth/receivers.py on `accounts.signals.session_ended`) revokes the
tokens issued in the session for clients with `revoke_tokens_on_logout`, and owes every client
that got tokens in it and registered a `backchannel_logout_uri` a `LogoutNotice`. The
`backchannel_logout` delivery kind (notifications.delivery) sends each notice: a logout token
signed like ID tokens, POSTed form-encoded, retried with backoff while the receiver is down.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.db import transaction
from django.db.models import Q
from jwcrypto import jwt

from identity.clock import clock
from notifications.delivery import (
    PERMANENT,
    RETRY,
    DeliveryKind,
    Failure,
    PermanentDeliveryError,
    RetryPolicy,
    delivery_schedule,
)
from oauth.app_settings import app_settings
from oauth.keys import signing_key_active
from oauth.models import AccessToken, Client, LogoutNotice, RefreshToken
from oauth.services import tokens_revoke
from oauth.tokens import subject_for

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"
LOGOUT_TOKEN_LIFETIME = 120  # seconds; a fresh token is signed for every attempt
SEND_TIMEOUT = 5  # seconds to connect, and to read the answer


# --- when a session ends -------------------------------------------------------------------------


@transaction.atomic
def session_logout(*, user, sid: str) -> list[LogoutNotice]:
    """The browser session `sid` of `user` ended: revoke what was issued in it (clients with
    `revoke_tokens_on_logout`) and queue a logout token for each client that got tokens in it
    (any state) and registered a back-channel logout URI. Returns the notices queued now."""
    if not sid:  # client-credentials tokens have no session; "" must never select them
        return []
    # The clients first: revoking deletes the access tokens that name them.
    issued = Q(pk__in=AccessToken.objects.filter(user=user, sid=sid).values("application_id")) | Q(
        pk__in=RefreshToken.objects.filter(user=user, sid=sid).values("application_id")
    )
    clients = list(Client.objects.filter(issued).exclude(backchannel_logout_uri=""))
    tokens_revoke(user=user, sid=sid, revoke_on_logout=True)
    notices = []
    for client in clients:
        notice, created = LogoutNotice.objects.get_or_create(
            idempotency_key=f"logout:{client.pk}:{sid}",
            defaults={"client": client, "user": user, "sid": sid, "uri": client.backchannel_logout_uri},
        )
        if created:
            delivery_schedule(kind=backchannel_logout_delivery, record_id=notice.pk)
            notices.append(notice)
    return notices


# --- the logout token ----------------------------------------------------------------------------


def logout_token(notice: LogoutNotice) -> str:
    """The logout token (Back-Channel Logout 1.0 §2.4), signed with the key that signs the client's
    ID tokens. `jti` is the notice's id: the same on every attempt, so a receiver can dedupe."""
    client = notice.client
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": app_settings.ISSUER,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": notice.pk.hex,
        "events": {LOGOUT_EVENT: {}},
    }
    if notice.user is not None:
        claims["sub"] = subject_for(user=notice.user, client=client)
    if notice.sid:
        claims["sid"] = notice.sid
    if "sub" not in claims and "sid" not in claims:
        raise PermanentDeliveryError("the notice names neither a user nor a session")
    key = signing_key_active(client.algorithm or "RS256")
    token = jwt.JWT(
        header={"typ": LOGOUT_TOKEN_TYPE, "alg": key.algorithm, "kid": key.kid}, claims=json.dumps(claims)
    )
    token.make_signed_token(key.jwk)
    return token.serialize()


# --- the delivery kind ---------------------------------------------------------------------------


class ReceiverAnswered(Exception):
    """The client's endpoint answered, but not with 2xx (never carries the token)."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} from the back-channel logout URI")
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """HTTP Retry-After: delay-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - clock.now()) / timedelta(seconds=1), 0.0)


# The URL itself is wrong: sending it again cannot help.
_BAD_URL_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)


class BackchannelLogoutDelivery(DeliveryKind):
    name = "backchannel_logout"
    model_label = "oauth.LogoutNotice"

    def policy(self) -> RetryPolicy:
        # 10 s, 20 s, … (with jitter) capped at 10 minutes: some 20-40 minutes of trying, then dead.
        return RetryPolicy(max_attempts=10, backoff_base_seconds=10, backoff_max_seconds=600)

    def send(self, record: LogoutNotice) -> dict[str, Any]:
        token = logout_token(record)
        response = requests.post(
            record.uri,
            data={"logout_token": token},
            headers={"Cache-Control": "no-store"},
            timeout=SEND_TIMEOUT,
            allow_redirects=False,
        )
        with response:
            if 200 <= response.status_code < 300:
                return {}
            raise ReceiverAnswered(
                response.status_code, retry_after_seconds(response.headers.get("Retry-After"))
            )

    def classify(self, exc: BaseException) -> Failure:
        if isinstance(exc, ReceiverAnswered):
            status = exc.status
            description = str(exc)
            if status >= 500 or status in (408, 429):
                return Failure(retry_after=exc.retry_after, description=description)
            # 4xx: the receiver refused this token; 3xx: redirects are not followed.
            return Failure(permanent=True, description=description)
        if isinstance(exc, requests.Timeout):
            return Failure(description="timed out waiting for the back-channel logout URI")
        if isinstance(exc, requests.ConnectionError):
            return Failure(description="could not connect to the back-channel logout URI")
        if isinstance(exc, _BAD_URL_ERRORS):
            return Failure(permanent=True, description=f"{exc.__class__.__name__}: the URI cannot be used")
        if isinstance(exc, PermanentDeliveryError):
            return PERMANENT
        return RETRY


backchannel_logout_delivery = BackchannelLogoutDelivery()
