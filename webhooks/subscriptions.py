"""Outbound event subscriptions of a project: writes (create, update, delete, replay a delivery;
atomic and audited) and project-scoped reads. Deliveries are made by `webhooks.outbound`."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.clock import clock
from identity.errors import ApplicationError, ErrorCode
from identity.outbound import MAX_URL_LENGTH, outbound_url_problem
from notifications.delivery import DeliveryStatus, delivery_requeue
from webhooks.constants import ROTATION_GRACE_SECONDS, OutboundEventType
from webhooks.models import EventDelivery, EventSubscription
from webhooks.outbound import private_targets_allowed, webhook_event_delivery
from webhooks.schemes.standard import PREFIX

UNSET: Any = object()
SECRET_BYTES = 32


def secret_generate() -> str:
    """A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fields_error(fields: dict[str, list[str]]) -> ApplicationError:
    return ApplicationError("The input is not valid.", fields=fields)


def subscription_url_problem(url: str) -> str:
    """Why events may not be sent to `url`; "" when they may. The one outbound-URL rule
    (identity.outbound) unless WEBHOOK_ALLOW_PRIVATE_TARGETS (tests, on-premise installs); never
    this server itself (an inbound endpoint subscribed to `webhook.received` would loop)."""
    url = (url or "").strip()
    if len(url) > MAX_URL_LENGTH:
        return "The URL is too long."
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = parts.netloc.lower()
    except ValueError:
        return "This is not a valid URL."
    if private_targets_allowed():
        if parts.scheme not in ("http", "https") or not host:
            return "Give a full http or https URL, such as https://example.com/webhooks."
        if parts.username or parts.password:
            return "The URL may not contain a user name or password."
        if parts.fragment or "#" in url:
            return "The URL may not contain a fragment (#…)."
    else:
        problem = outbound_url_problem(url, allow_http_loopback=False, example="https://example.com/webhooks")
        if problem:
            return problem
    if netloc and netloc == urlsplit(settings.APP_BASE_URL).netloc.lower():
        return "Events cannot be sent to this server itself."
    return ""


def _url_checked(url: str) -> str:
    url = (url or "").strip()
    problem = subscription_url_problem(url)
    if problem:
        raise _fields_error({"url": [problem]})
    return url


def _events_checked(events) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise _fields_error({"events": ["Choose at least one event type."]})
    unknown = [event for event in events if event not in OutboundEventType.values]
    if unknown:
        raise _fields_error(
            {
                "events": [
                    f"Unknown event type {unknown[0]!r}; choose from {', '.join(OutboundEventType.values)}."
                ]
            }
        )
    return [value for value in OutboundEventType.values if value in events]  # known order, no repeats


@dataclass(frozen=True)
class IssuedSubscription:
    subscription: EventSubscription
    secret: str  # shown only once


@transaction.atomic
def subscription_create(
    *, project, actor: Actor, url: str, events: list[str], is_active: bool = True
) -> IssuedSubscription:
    secret = secret_generate()
    subscription = EventSubscription.objects.create(
        project=project,
        url=_url_checked(url),
        events=_events_checked(events),
        secret=secret,
        is_active=is_active,
    )
    audit_record(
        action=AuditAction.EVENT_SUBSCRIPTION_CREATED,
        actor=actor,
        project=project,
        target=subscription,
        details={"events": subscription.events},
    )
    return IssuedSubscription(subscription=subscription, secret=secret)


@transaction.atomic
def subscription_update(
    *,
    subscription: EventSubscription,
    actor: Actor,
    url: str = UNSET,
    events: list[str] = UNSET,
    is_active: bool = UNSET,
) -> EventSubscription:
    """Change what is passed. Enabling a subscription clears why it was disabled and its failures."""
    subscription = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
    changed = []
    if url is not UNSET and (url or "").strip() != subscription.url:
        subscription.url = _url_checked(url)
        changed.append("url")
    if events is not UNSET:
        checked = _events_checked(events)
        if checked != subscription.events:
            subscription.events = checked
            changed.append("events")
    if is_active is not UNSET and is_active != subscription.is_active:
        subscription.is_active = is_active
        subscription.disabled_reason = ""
        subscription.failing_since = None
        changed.append("is_active")
    if changed:
        subscription.save()
        audit_record(
            action=AuditAction.EVENT_SUBSCRIPTION_UPDATED,
            actor=actor,
            project=subscription.project,
            target=subscription,
            details={"changed": changed},
        )
    return subscription


@transaction.atomic
def subscription_rotate_secret(*, subscription: EventSubscription, actor: Actor) -> str:
    """A new signing secret, returned once. For 24 hours (ROTATION_GRACE_SECONDS) every delivery
    carries a second signature made with the previous secret, so the receiver can switch without
    refusing events; a second rotation within that time ends the first one's grace."""
    subscription = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
    secret = secret_generate()
    now = clock.now()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = now + timedelta(seconds=ROTATION_GRACE_SECONDS)
    subscription.secret = secret
    subscription.secret_rotated_at = now
    subscription.save(
        update_fields=[
            "secret",
            "previous_secret",
            "previous_secret_expires_at",
            "secret_rotated_at",
            "updated_at",
        ]
    )
    audit_record(
        action=AuditAction.EVENT_SUBSCRIPTION_SECRET_ROTATED,
        actor=actor,
        project=subscription.project,
        target=subscription,
        details={"previous_valid_until": subscription.previous_secret_expires_at.isoformat()},
    )
    return secret


@transaction.atomic
def subscription_delete(*, subscription: EventSubscription, actor: Actor) -> None:
    """Delete a subscription and its delivery log; nothing more is sent to it."""
    audit_record(
        action=AuditAction.EVENT_SUBSCRIPTION_DELETED,
        actor=actor,
        project=subscription.project,
        target=subscription,
        details={"deliveries": subscription.deliveries.count()},
    )
    subscription.delete()


@transaction.atomic
def delivery_replay(*, delivery: EventDelivery, actor: Actor) -> EventDelivery:
    """Send a delivery again from scratch (same `webhook-id`); not while it is on its way."""
    delivery = (
        EventDelivery.objects.select_for_update().select_related("subscription__project").get(pk=delivery.pk)
    )
    if delivery.status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING):
        raise ApplicationError(
            "This delivery is already waiting to be sent.", code=ErrorCode.CONFLICT, status=409
        )
    if not delivery.subscription.is_active:
        raise ApplicationError(
            "The subscription is disabled: enable it first.", code=ErrorCode.CONFLICT, status=409
        )
    delivery.last_response_code = None
    delivery.save(update_fields=["last_response_code", "updated_at"])
    delivery_requeue(kind=webhook_event_delivery, record=delivery)
    audit_record(
        action=AuditAction.EVENT_DELIVERY_REPLAYED,
        actor=actor,
        project=delivery.subscription.project,
        target=delivery,
        target_label=f"{delivery.event_type} {delivery.pk}"[:255],
        details={"subscription": delivery.subscription.url[:200]},
    )
    return delivery


# --- reads ---------------------------------------------------------------------------------------


def subscription_list(*, project) -> QuerySet[EventSubscription]:
    return (
        EventSubscription.objects.filter(project=project)
        .annotate(
            delivery_count=Count("deliveries"),
            problem_count=Count(
                "deliveries",
                filter=Q(deliveries__status__in=[DeliveryStatus.FAILED, DeliveryStatus.DEAD]),
            ),
        )
        .order_by("created_at")
    )


def subscription_get(*, project, subscription_id) -> EventSubscription:
    """One subscription of `project`; another project's id (or a malformed one) is a 404."""
    try:
        return EventSubscription.objects.select_related("project").get(project=project, pk=subscription_id)
    except (EventSubscription.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such event subscription.") from exc


def delivery_list(*, subscription: EventSubscription, status: str = "") -> QuerySet[EventDelivery]:
    qs = EventDelivery.objects.filter(subscription=subscription)
    if status in DeliveryStatus.values:
        qs = qs.filter(status=status)
    return qs.defer("payload").order_by("-created_at")


def delivery_get(*, subscription: EventSubscription, delivery_id) -> EventDelivery:
    try:
        return EventDelivery.objects.select_related("subscription__project").get(
            subscription=subscription, pk=delivery_id
        )
    except (EventDelivery.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such delivery.") from exc
