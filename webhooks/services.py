"""Writes of the webhooks app: endpoints (create, update, rotate the secret, delete), receipt of
verified events into the inbox, and replay. Each write is atomic and audited (receipt too, as
`webhook_event.received`, the source of the outbound `webhook.received` event)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.clock import clock
from identity.errors import ApplicationError, ErrorCode
from notifications.delivery import DeliveryStatus, delivery_requeue, delivery_schedule
from oauth.models import Client
from oauth.tokens import token_checksum
from webhooks.constants import ROTATION_GRACE_SECONDS, WebhookScheme
from webhooks.delivery import inbound_delivery
from webhooks.handlers import handler_get, webhook_actor
from webhooks.models import InboundEvent, InboundEventStatus, WebhookEndpoint
from webhooks.schemes import ParsedEvent, scheme_get
from webhooks.schemes.basic import client_may_sign

UNSET: Any = object()


def endpoint_url(token: str) -> str:
    """The absolute URL a sender posts to: `{APP_BASE_URL}/webhooks/in/<token>/`."""
    return f"{settings.APP_BASE_URL}{reverse('webhooks:receive', kwargs={'token': token})}"


@dataclass(frozen=True)
class IssuedEndpoint:
    """A new endpoint with what is shown only once: its URL and, when generated, its secret."""

    endpoint: WebhookEndpoint
    url: str
    secret: str | None


def _fields_error(fields: dict[str, list[str]]) -> ApplicationError:
    return ApplicationError("The input is not valid.", fields=fields)


def _client_for(project, scheme: str, client_id: str | None) -> Client | None:
    if scheme != WebhookScheme.BASIC:
        if client_id:
            raise _fields_error({"client_id": ["Only basic endpoints use an OAuth client."]})
        return None
    if not client_id:
        raise _fields_error({"client_id": ["Choose the OAuth client whose id and secret the sender uses."]})
    client = Client.objects.filter(project=project, client_id=client_id).first()
    if client is None:
        raise _fields_error({"client_id": ["No client with this id in this project."]})
    if not client_may_sign(client):
        raise _fields_error(
            {"client_id": ["Choose an active confidential client that authenticates with a secret."]}
        )
    return client


def _check_handler(scheme: str, handler: str) -> None:
    try:
        found = handler_get(handler)
    except LookupError:
        raise _fields_error({"handler": ["No such handler."]}) from None
    if not found.accepts_scheme(scheme):
        raise _fields_error({"handler": [f"This handler does not read {scheme} events."]})


def _secret_checked(scheme: str, secret: str) -> str:
    secret = secret.strip()
    problem = scheme_get(scheme).secret_problem(secret)
    if problem:
        raise _fields_error({"secret": [problem]})
    return secret


def _new_secret(scheme: str, given: str | None) -> tuple[str, str | None]:
    """(stored secret, secret to show once) for a new or rotated secret."""
    definition = scheme_get(scheme)
    if not definition.uses_secret:
        if given:
            raise _fields_error(
                {"secret": ["A basic endpoint has no secret of its own: the client's is used."]}
            )
        return "", None
    if given:
        return _secret_checked(scheme, given), None
    if definition.generates_secret:
        generated = definition.secret_generate()
        return generated, generated
    return "", None  # Stripe: the signing secret is pasted once Stripe shows it


@transaction.atomic
def endpoint_create(
    *,
    project,
    actor: Actor,
    name: str,
    scheme: str,
    handler: str,
    client_id: str | None = None,
    secret: str | None = None,
    is_active: bool = True,
) -> IssuedEndpoint:
    name = (name or "").strip()
    if scheme not in WebhookScheme.values:
        raise _fields_error({"scheme": [f"Choose one of {', '.join(WebhookScheme.values)}."]})
    if not name:
        raise _fields_error({"name": ["This field is required."]})
    _check_handler(scheme, handler)
    client = _client_for(project, scheme, client_id)
    stored_secret, shown_secret = _new_secret(scheme, secret)
    token = secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        project=project,
        name=name[:120],
        scheme=scheme,
        handler=handler,
        client=client,
        secret=stored_secret,
        token_checksum=token_checksum(token),
        token_prefix=token[:6],
        is_active=is_active,
    )
    _save(endpoint)
    audit_record(
        action=AuditAction.WEBHOOK_ENDPOINT_CREATED,
        actor=actor,
        project=project,
        target=endpoint,
        details={"scheme": scheme, "handler": handler, "client_id": client.client_id if client else ""},
    )
    return IssuedEndpoint(endpoint=endpoint, url=endpoint_url(token), secret=shown_secret)


def _save(endpoint: WebhookEndpoint) -> None:
    try:
        with transaction.atomic():
            endpoint.save()
    except IntegrityError as exc:
        raise ApplicationError(
            "Another webhook endpoint of this project has that name.",
            code=ErrorCode.CONFLICT,
            status=409,
            fields={"name": ["Already used in this project."]},
        ) from exc


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor: Actor,
    name: str = UNSET,
    handler: str = UNSET,
    client_id: str | None = UNSET,
    secret: str | None = UNSET,
    is_active: bool = UNSET,
) -> WebhookEndpoint:
    """Change what is passed. A new `secret` replaces the old one at once (no grace period:
    that is what `endpoint_rotate_secret` is for). The scheme never changes."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changed = []
    if name is not UNSET and (name or "").strip() != endpoint.name:
        if not (name or "").strip():
            raise _fields_error({"name": ["This field is required."]})
        endpoint.name = name.strip()[:120]
        changed.append("name")
    if handler is not UNSET and handler != endpoint.handler:
        _check_handler(endpoint.scheme, handler)
        endpoint.handler = handler
        changed.append("handler")
    if client_id is not UNSET and (client_id or None) != (
        endpoint.client.client_id if endpoint.client else None
    ):
        endpoint.client = _client_for(endpoint.project, endpoint.scheme, client_id)
        changed.append("client_id")
    if secret is not UNSET and secret:
        if not scheme_get(endpoint.scheme).uses_secret:
            raise _fields_error(
                {"secret": ["A basic endpoint has no secret of its own: the client's is used."]}
            )
        endpoint.secret = _secret_checked(endpoint.scheme, secret)
        endpoint.previous_secret, endpoint.previous_secret_expires_at = "", None
        endpoint.secret_rotated_at = clock.now()
        changed.append("secret")
    if is_active is not UNSET and is_active != endpoint.is_active:
        endpoint.is_active = is_active
        changed.append("is_active")
    if changed:
        _save(endpoint)
        audit_record(
            action=AuditAction.WEBHOOK_ENDPOINT_UPDATED,
            actor=actor,
            project=endpoint.project,
            target=endpoint,
            details={"changed": changed},
        )
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, actor: Actor, secret: str | None = None
) -> str | None:
    """A new secret; the previous one keeps verifying for 24 hours (ROTATION_GRACE_SECONDS).

    Without `secret` one is generated and returned (shown once); Stripe endpoints need the new
    secret Stripe shows when it rolls theirs. Basic endpoints rotate their client's secret instead.
    """
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    definition = scheme_get(endpoint.scheme)
    if not definition.uses_secret:
        raise ApplicationError(
            "A basic endpoint uses its OAuth client's secret: rotate the client's secret instead.",
            code=ErrorCode.CONFLICT,
            status=409,
        )
    if not secret and not definition.generates_secret:
        raise _fields_error({"secret": ["Paste the new signing secret Stripe shows when you roll it."]})
    stored, shown = _new_secret(endpoint.scheme, secret)
    now = clock.now()
    if endpoint.secret:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(seconds=ROTATION_GRACE_SECONDS)
    endpoint.secret = stored
    endpoint.secret_rotated_at = now
    endpoint.save(
        update_fields=[
            "secret",
            "previous_secret",
            "previous_secret_expires_at",
            "secret_rotated_at",
            "updated_at",
        ]
    )
    audit_record(
        action=AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
        actor=actor,
        project=endpoint.project,
        target=endpoint,
        details={"previous_valid_until": endpoint.previous_secret_expires_at},
    )
    return shown


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    """Delete an endpoint and its inbox; its URL answers 404 from now on."""
    audit_record(
        action=AuditAction.WEBHOOK_ENDPOINT_DELETED,
        actor=actor,
        project=endpoint.project,
        target=endpoint,
        details={"scheme": endpoint.scheme, "events": endpoint.events.count()},
    )
    endpoint.delete()


@dataclass(frozen=True)
class Receipt:
    received: int
    duplicates: int


@transaction.atomic
def inbound_receive(
    *,
    endpoint: WebhookEndpoint,
    events: list[ParsedEvent],
    headers: dict[str, str],
    remote_addr: str | None,
) -> Receipt:
    """Store verified events in the inbox; each new one is processed after commit.

    An event id the endpoint already has is a duplicate: nothing is written and nothing runs
    again (the UNIQUE (endpoint, event_id) constraint decides, also between concurrent requests).
    """
    received = duplicates = 0
    for parsed in events:
        event = InboundEvent(
            endpoint=endpoint,
            event_id=parsed.event_id,
            event_type=parsed.event_type,
            body=parsed.body,
            headers=headers,
            remote_addr=remote_addr,
            idempotency_key=f"webhook:{endpoint.pk}:{token_checksum(parsed.event_id)}",
        )
        try:
            with transaction.atomic():  # a savepoint: a duplicate must not undo the others
                event.save(force_insert=True)
        except IntegrityError:
            duplicates += 1
            continue
        delivery_schedule(kind=inbound_delivery, record_id=event.pk)
        # Recorded so that the project's event subscriptions hear of it (`webhook.received`).
        audit_record(
            action=AuditAction.WEBHOOK_EVENT_RECEIVED,
            actor=webhook_actor(endpoint),
            project=endpoint.project,
            target=event,
            target_label=f"{parsed.event_type or 'event'} {parsed.event_id}"[:255],
            details={"endpoint": endpoint.name, "event_type": parsed.event_type},
        )
        received += 1
    return Receipt(received=received, duplicates=duplicates)


@transaction.atomic
def event_replay(*, event: InboundEvent, actor: Actor) -> InboundEvent:
    """Process an event again from scratch (the engine's requeue). Not while it is on its way."""
    event = InboundEvent.objects.select_for_update().select_related("endpoint__project").get(pk=event.pk)
    if event.status in (InboundEventStatus.QUEUED, InboundEventStatus.SENDING):
        raise ApplicationError(
            "This event is already waiting to be processed.", code=ErrorCode.CONFLICT, status=409
        )
    event.outcome = ""
    event.save(update_fields=["outcome", "updated_at"])
    delivery_requeue(kind=inbound_delivery, record=event)
    audit_record(
        action=AuditAction.WEBHOOK_EVENT_REPLAYED,
        actor=actor,
        project=event.endpoint.project,
        target=event,
        target_label=f"{event.event_type or 'event'} {event.event_id}"[:255],
        details={"endpoint": event.endpoint.name},
    )
    return event


def webhook_records_purge(*, before) -> int:
    """Delete inbox events and outbound deliveries in a final state (processed/sent or dead) last
    changed before `before` (retention, WEBHOOK_RETENTION_DAYS); waiting or failing ones stay.
    A purged inbox event no longer deduplicates its event id, so the retention must outlast the
    senders' retries (webhooks.W001 asks for at least 7 days). Returns how many rows went."""
    from webhooks.models import EventDelivery

    final = (DeliveryStatus.SENT, DeliveryStatus.DEAD)
    inbound, _ = InboundEvent.objects.filter(status__in=final, updated_at__lt=before).delete()
    outbound, _ = EventDelivery.objects.filter(status__in=final, updated_at__lt=before).delete()
    return inbound + outbound
