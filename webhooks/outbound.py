"""Outbound events: a project's audit events, delivered to its event subscriptions.

Where events come from: the audit log. Every event type (`webhooks.constants.OutboundEventType`)
is an audit action every service already records in its own transaction (`audit_record`), so
`audit_event_fan_out` — a `post_save` receiver on `AuditEvent`, connected in
`WebhooksConfig.ready()` — is the one place events are made; no service calls webhooks.
(`audit_events_fan_out` does the same for `audit.signals.events_recorded`, which
`audit_record_many` sends for events written in one statement, where there is no `post_save`.)

Why a signal is right here (docs/ARCHITECTURE.md: "signals only tell *other* apps that
something finished"): the audit row is the last thing a service writes about work it has done,
and `AuditEvent` is append-only (only ever *created*), so its `post_save` means "this happened".
The receiver does not act on the outside world in that transaction: it writes `EventDelivery`
rows beside the audit row (the outbox pattern — they commit or roll back with the work) and
`delivery_schedule` publishes them only after commit. Nothing leaves the building for work that
was rolled back, and a broker outage loses nothing (the relay publishes what waits).

The `webhook_event` delivery kind signs each body per Standard Webhooks 1.0 (`webhook-id` = the
delivery's id on every attempt, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC>`, the
signer being `webhooks.schemes.standard.sign`, the same code that verifies inbound requests),
POSTs it with a 15 s timeout and no redirects, through a transport that refuses internal peer
addresses when `WEBHOOK_ALLOW_PRIVATE_TARGETS` is off (checked on the connected socket, so a
name that re-resolves to an internal address between the check and the connection is refused
too).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from identity.clock import clock
from identity.crypto import is_unreadable
from identity.outbound import host_is_internal
from notifications.delivery import (
    RETRY,
    DeliveryKind,
    Failure,
    PermanentDeliveryError,
    RetryPolicy,
    delivery_schedule,
)
from webhooks.constants import (
    EVENT_TYPE_OF_AUDIT_ACTION,
    OUTBOUND_DISABLE_AFTER_SECONDS,
    OUTBOUND_TIMEOUT_SECONDS,
)
from webhooks.schemes.standard import sign

logger = logging.getLogger(__name__)


def private_targets_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))


# --- where events come from ----------------------------------------------------------------------


def event_payload(audit_event) -> dict[str, Any]:
    """`{"type", "timestamp", "data"}`: a safe projection of the audit event (ids, labels, the
    actor's label and the already scrubbed details; never its IP address or user agent)."""
    actor: dict[str, str | None]
    if audit_event.actor_user_id:
        actor = {"type": "user", "id": str(audit_event.actor_user_id)}
    elif audit_event.actor_client_id:
        actor = {"type": "client", "id": audit_event.actor_client_id}
    else:
        actor = {"type": "system", "id": None}
    actor["label"] = audit_event.actor_label
    return {
        "type": EVENT_TYPE_OF_AUDIT_ACTION[audit_event.action],
        "timestamp": audit_event.created_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "audit_event_id": str(audit_event.pk),
            "action": audit_event.action,
            "outcome": audit_event.outcome,
            "project_id": str(audit_event.project_id),
            "actor": actor,
            "target": {
                "type": audit_event.target_type,
                "id": audit_event.target_id,
                "label": audit_event.target_label,
            },
            "details": audit_event.details or {},
        },
    }


def audit_event_fan_out(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """`post_save` of `AuditEvent`: one delivery per active subscription of the event's project
    that asked for its type, written in the same transaction, published after commit."""
    if not created or raw:
        return
    _fan_out([instance])


def audit_events_fan_out(sender, events, **kwargs) -> None:
    """`audit.signals.events_recorded` (several events written in one statement, e.g. a bulk
    invite's chunk): the same deliveries as `audit_event_fan_out` for each, with one query for
    the subscriptions of each project and one INSERT."""
    _fan_out(events)


def _fan_out(events) -> None:
    from webhooks.models import EventDelivery, EventSubscription

    typed = [
        (event, EVENT_TYPE_OF_AUDIT_ACTION[event.action])
        for event in events
        if event.project_id and event.action in EVENT_TYPE_OF_AUDIT_ACTION
    ]
    subscriptions_of: dict = {}
    deliveries: list[EventDelivery] = []
    for event, event_type in typed:
        if event.project_id not in subscriptions_of:
            subscriptions_of[event.project_id] = list(
                EventSubscription.objects.filter(project_id=event.project_id, is_active=True)
            )
        subscriptions = [s for s in subscriptions_of[event.project_id] if event_type in (s.events or [])]
        if not subscriptions:
            continue
        body = json.dumps(event_payload(event), separators=(",", ":"), default=str)
        deliveries.extend(
            EventDelivery(
                subscription=subscription,
                event_type=event_type,
                audit_event_id=event.pk,
                payload=body,
                idempotency_key=f"event:{subscription.pk}:{event.pk}",
            )
            for subscription in subscriptions
        )
    if len(deliveries) == 1:
        deliveries[0].save(force_insert=True)
    elif deliveries:
        EventDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        delivery_schedule(kind=webhook_event_delivery, record_id=delivery.pk)


# --- the transport: only public peers ------------------------------------------------------------


class InternalTargetRefused(Exception):
    """The target resolves to (or connected to) a private, loopback or link-local address."""


def _address_is_internal(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return host_is_internal(str(ip)) or ip.is_link_local or ip.is_private


def host_addresses_problem(host: str, port: int) -> str:
    """ "" when every address `host` resolves to is public; else why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return ""  # the connection attempt reports it (and it is retried)
    internal = sorted({str(info[4][0]) for info in infos if _address_is_internal(str(info[4][0]))})
    if internal:
        return f"the host {host} resolves to an internal address"
    return ""


def _check_peer(sock: socket.socket) -> None:
    peer = sock.getpeername()[0]
    if _address_is_internal(peer):
        sock.close()
        raise InternalTargetRefused("connected to an internal address; refused")


class _PublicHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _PublicHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse internal peers after connecting (DNS
    rebinding: what was resolved for the check is not necessarily what is connected to)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}


def outbound_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment: the peer is the target
    if not private_targets_allowed():
        adapter = PublicOnlyAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


# --- the delivery kind ---------------------------------------------------------------------------


class ReceiverAnswered(Exception):
    """The subscription's URL answered, but not with 2xx (never carries the body)."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} from the subscription's URL")
        self.status = status
        self.retry_after = retry_after


class SubscriptionGone(PermanentDeliveryError):
    """410 Gone: the receiver wants no more events; the subscription is disabled."""


_BAD_URL_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)


def signed_headers(*, secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers; one space-separated `v1,` signature per secret (during a
    rotation the receiver accepts the message with either its old or its new secret)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "identity-portal-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body) for secret in secrets
        ),
    }


def _subscription_disable(subscription, *, reason: str) -> bool:
    """Disable once (conditional UPDATE), audit it and email the project's owners; True if now."""
    from audit.models import AuditAction
    from audit.services import audit_record
    from webhooks.models import EventSubscription

    with transaction.atomic():
        updated = EventSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
            is_active=False, disabled_reason=reason[:300], updated_at=clock.now()
        )
        if not updated:
            return False
        audit_record(
            action=AuditAction.EVENT_SUBSCRIPTION_DISABLED,
            project=subscription.project,
            target=subscription,
            details={"reason": reason[:300]},
        )
        _owners_tell(subscription, reason=reason)
    return True


def _owners_tell(subscription, *, reason: str) -> None:
    from accounts.models import Membership, Role
    from notifications.models import MessageKind
    from notifications.services import message_enqueue

    project = subscription.project
    owners = Membership.objects.filter(
        project=project, role=Role.OWNER, is_active=True, user__is_active=True
    ).select_related("user")
    subject = f"{project.name}: an event subscription was disabled"
    text = (
        f"The event subscription for {subscription.url} in {project.name} was disabled: {reason}.\n\n"
        "No more events are sent to it. Fix the receiving end, then enable the subscription again "
        "in the portal (Webhooks → Event subscriptions) and replay the deliveries it missed."
    )
    for membership in owners:
        if not membership.user.email:
            continue
        message_enqueue(
            kind=MessageKind.ACCOUNT_NOTICE,
            to_email=membership.user.email,
            project=project,
            user=membership.user,
            context={"subject": subject, "text": text},
            idempotency_key=f"subscription-disabled:{subscription.pk}:{membership.user_id}:"
            f"{int(clock.now().timestamp())}",
        )


def _record_response_code(record, status: int | None) -> None:
    type(record).objects.filter(pk=record.pk).update(last_response_code=status)


def _failed(record) -> None:
    """A failed attempt: start the subscription's failing clock, disable it after a day."""
    from webhooks.models import EventSubscription

    now = clock.now()
    EventSubscription.objects.filter(pk=record.subscription_id, failing_since__isnull=True).update(
        failing_since=now
    )
    subscription = EventSubscription.objects.select_related("project").get(pk=record.subscription_id)
    failing_since = subscription.failing_since or now
    a_day = failing_since <= now - timedelta(seconds=OUTBOUND_DISABLE_AFTER_SECONDS)
    # The last attempt of a delivery that has been failing since (about) it was made: its whole
    # retry window (about a day; 16-32 h with the jitter) failed, though the day may not be full.
    exhausted = record.attempts >= webhook_event_delivery.policy().max_attempts and (
        failing_since <= record.created_at + timedelta(hours=1)
    )
    if subscription.is_active and (a_day or exhausted):
        _subscription_disable(subscription, reason="its deliveries have failed for about a day")


class WebhookEventDelivery(DeliveryKind):
    name = "webhook_event"
    model_label = "webhooks.EventDelivery"

    def policy(self) -> RetryPolicy:
        # 30 s doubling (with jitter: each wait is between half and all of it) up to 50 minutes,
        # below the broker's visibility timeout (identity.W010); 45 attempts spread the trying
        # over about 24 hours (16–32 h with the jitter), then dead. A subscription that has
        # failed for a day is disabled first (OUTBOUND_DISABLE_AFTER_SECONDS).
        return RetryPolicy(max_attempts=45, backoff_base_seconds=30, backoff_max_seconds=3000)

    def send(self, record) -> dict[str, Any]:
        subscription = record.subscription
        if not subscription.is_active:
            raise PermanentDeliveryError("the subscription is disabled")
        if is_unreadable(record.payload) or is_unreadable(subscription.secret):
            raise PermanentDeliveryError("the stored payload or secret cannot be decrypted")
        try:
            status, retry_after = self._post(record, subscription)
        except Exception:
            _record_response_code(record, None)
            _failed(record)
            raise
        _record_response_code(record, status)
        if 200 <= status < 300:
            type(subscription).objects.filter(pk=subscription.pk).update(failing_since=None)
            return {"last_response_code": status}
        if status == 410:
            _subscription_disable(subscription, reason="the receiver answered 410 Gone")
            raise SubscriptionGone("HTTP 410 from the subscription's URL: the subscription is disabled")
        _failed(record)
        raise ReceiverAnswered(status, retry_after)

    def _post(self, record, subscription) -> tuple[int, float | None]:
        from oauth.backchannel import retry_after_seconds

        if not private_targets_allowed():
            parts = urlsplit(subscription.url)
            host = parts.hostname or ""
            problem = host_addresses_problem(host, parts.port or (443 if parts.scheme == "https" else 80))
            if problem or host_is_internal(host):
                raise InternalTargetRefused(problem or "the URL names an internal address")
        body = record.payload.encode()
        now = clock.now()
        signing_secrets = [
            secret for secret in subscription.signing_secrets(now) if not is_unreadable(secret)
        ]
        headers = signed_headers(
            secrets=signing_secrets, msg_id=str(record.pk), timestamp=int(now.timestamp()), body=body
        )
        with outbound_session() as session:
            response = session.post(
                subscription.url,
                data=body,
                headers=headers,
                timeout=OUTBOUND_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
        with response:
            return response.status_code, retry_after_seconds(response.headers.get("Retry-After"))

    def classify(self, exc: BaseException) -> Failure:
        if isinstance(exc, ReceiverAnswered):
            if exc.status >= 500 or exc.status in (408, 429):
                return Failure(retry_after=exc.retry_after, description=str(exc))
            # other 4xx: the receiver refused the event; 3xx: redirects are not followed.
            return Failure(permanent=True, description=str(exc))
        if isinstance(exc, InternalTargetRefused):
            return Failure(permanent=True, description=f"Refused: {exc}")
        if isinstance(exc, requests.Timeout):
            return Failure(description="timed out waiting for the subscription's URL")
        if isinstance(exc, requests.ConnectionError):
            return Failure(description="could not connect to the subscription's URL")
        if isinstance(exc, _BAD_URL_ERRORS):
            return Failure(permanent=True, description=f"{exc.__class__.__name__}: the URL cannot be used")
        if isinstance(exc, PermanentDeliveryError):
            return Failure(permanent=True, description=str(exc))
        return RETRY


webhook_event_delivery = WebhookEventDelivery()
