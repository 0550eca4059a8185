"""Outbound event subscription pages of the project portal (routed by webhooks/portal_urls.py)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from identity import flash
from identity.clock import clock
from identity.errors import ApplicationError
from identity.portal import (
    ConfirmActionMixin,
    Confirmation,
    ProjectAdminView,
    form_add_service_error,
    paginate,
    query_without_page,
    shown_once_pop,
    shown_once_put,
)
from notifications.delivery import DeliveryStatus
from webhooks import subscriptions
from webhooks.constants import OutboundEventType
from webhooks.models import EventSubscription


class SubscriptionForm(forms.Form):
    """Parses; webhooks.subscriptions decides."""

    url = forms.CharField(
        max_length=2000, label="URL", help_text="A public https URL that receives the events."
    )
    events = forms.MultipleChoiceField(
        choices=OutboundEventType.choices, widget=forms.CheckboxSelectMultiple, label="Events"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


def _initial(subscription: EventSubscription) -> dict:
    return {"url": subscription.url, "events": subscription.events, "is_active": subscription.is_active}


def _secret_key(subscription: EventSubscription) -> str:
    return f"event-subscription-secret:{subscription.pk}"


class SubscriptionsBaseView(ProjectAdminView):
    section = "webhooks"

    def secret_redirect(self, request, subscription: EventSubscription, secret: str, *, rotated: bool):
        shown_once_put(request, _secret_key(subscription), {"secret": secret, "rotated": rotated})
        response = redirect(
            "portal:event_subscription_secret",
            project_slug=self.project.slug,
            subscription_id=subscription.pk,
        )
        response.status_code = 303
        return response

    def subscription(self, subscription_id) -> EventSubscription:
        return subscriptions.subscription_get(project=self.project, subscription_id=subscription_id)

    def detail_url(self, subscription: EventSubscription) -> str:
        return reverse(
            "portal:event_subscription",
            kwargs={"project_slug": self.project.slug, "subscription_id": subscription.pk},
        )

    def back(self, subscription: EventSubscription) -> HttpResponse:
        return redirect(
            "portal:event_subscription", project_slug=self.project.slug, subscription_id=subscription.pk
        )

    def listing(self, request, *, form=None, status=200) -> HttpResponse:
        page = paginate(request, subscriptions.subscription_list(project=self.project))
        return self.render(
            request,
            "portal/webhooks/subscriptions.html",
            {"page": page, "form": form or SubscriptionForm(), "query_string": query_without_page(request)},
            status=status,
        )

    def detail(self, request, subscription, *, form=None, status=200) -> HttpResponse:
        status_filter = request.GET.get("status", "")
        page = paginate(request, subscriptions.delivery_list(subscription=subscription, status=status_filter))
        return self.render(
            request,
            "portal/webhooks/subscription.html",
            {
                "subscription": subscription,
                "now": clock.now(),
                "form": form or SubscriptionForm(initial=_initial(subscription)),
                "page": page,
                "status": status_filter,
                "statuses": DeliveryStatus.choices,
                "query_string": query_without_page(request),
            },
            status=status,
        )


class SubscriptionListView(SubscriptionsBaseView):
    """GET lists the subscriptions with a form to add one; POST adds it and shows its secret once."""

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        return self.listing(request)

    def post(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                issued = subscriptions.subscription_create(
                    project=self.project,
                    actor=self.actor,
                    url=data["url"],
                    events=data["events"],
                    is_active=data.get("is_active", False),
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                return self.secret_redirect(request, issued.subscription, issued.secret, rotated=False)
        return self.listing(request, form=form, status=400)


class SubscriptionDetailView(SubscriptionsBaseView):
    """GET shows the subscription and its delivery log; POST saves its settings."""

    def get(self, request: HttpRequest, project_slug: str, subscription_id) -> HttpResponse:
        return self.detail(request, self.subscription(subscription_id))

    def post(self, request: HttpRequest, project_slug: str, subscription_id) -> HttpResponse:
        subscription = self.subscription(subscription_id)
        form = SubscriptionForm(request.POST, initial=_initial(subscription))
        if form.is_valid():
            data = form.cleaned_data
            try:
                subscriptions.subscription_update(
                    subscription=subscription,
                    actor=self.actor,
                    url=data["url"],
                    events=data["events"],
                    is_active=data.get("is_active", False),
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.EVENT_SUBSCRIPTION_SAVED, name=data["url"])
                return self.back(subscription)
        return self.detail(request, subscription, form=form, status=400)


class SubscriptionRotateSecretView(ConfirmActionMixin, SubscriptionsBaseView):
    """GET asks; POST makes a new signing secret, shown once; the previous one also signs for 24 hours."""

    def confirmation(self, *, subscription_id) -> Confirmation:
        subscription = self.subscription(subscription_id)
        return Confirmation(
            title="Rotate the signing secret?",
            affects=f"The receiver at {subscription.url} must be given the new secret.",
            consequences=[
                "A new secret is made and shown to you once.",
                "For 24 hours every delivery is signed with both the new and the current secret, so "
                "the receiver can switch without refusing events; then only the new one signs.",
            ],
            undo="The old secret cannot be brought back after those 24 hours.",
            button="Rotate secret",
            cancel_url=self.detail_url(subscription),
        )

    def post(self, request: HttpRequest, project_slug: str, subscription_id) -> HttpResponse:
        subscription = self.subscription(subscription_id)
        secret = subscriptions.subscription_rotate_secret(subscription=subscription, actor=self.actor)
        return self.secret_redirect(request, subscription, secret, rotated=True)


class SubscriptionSecretView(SubscriptionsBaseView):
    """GET: the signing secret a create or rotation just issued, shown once (taken out of the
    session: post/redirect/get, so a reload neither repeats the action nor shows it again)."""

    def get(self, request: HttpRequest, project_slug: str, subscription_id) -> HttpResponse:
        subscription = self.subscription(subscription_id)
        shown = shown_once_pop(request, _secret_key(subscription))
        if shown is None:
            flash.flash(request, flash.WEBHOOK_SECRET_SHOWN, name=subscription.url)
            return self.back(subscription)
        response = self.render(
            request,
            "portal/webhooks/subscription_secret.html",
            {"subscription": subscription, "secret": shown["secret"], "rotated": shown["rotated"]},
        )
        response["Cache-Control"] = "no-store"
        return response


class SubscriptionDeleteView(ConfirmActionMixin, SubscriptionsBaseView):
    """GET asks; POST deletes the subscription and its delivery log."""

    def confirmation(self, *, subscription_id) -> Confirmation:
        subscription = self.subscription(subscription_id)
        return Confirmation(
            title="Delete this event subscription?",
            affects=f"{subscription.url} gets no more events ({', '.join(subscription.events)}).",
            consequences=[
                f"Its {subscription.deliveries.count()} delivery record(s) are deleted with it, "
                "including deliveries still waiting to be sent."
            ],
            undo="This cannot be undone; to pause it, untick Active in its settings instead.",
            button="Delete subscription",
            cancel_url=self.detail_url(subscription),
        )

    def post(self, request: HttpRequest, project_slug: str, subscription_id) -> HttpResponse:
        subscription = self.subscription(subscription_id)
        subscriptions.subscription_delete(subscription=subscription, actor=self.actor)
        flash.flash(request, flash.EVENT_SUBSCRIPTION_DELETED, name=subscription.url)
        return redirect("portal:event_subscriptions", project_slug=self.project.slug)


class DeliveryReplayView(SubscriptionsBaseView):
    """POST-only: send a delivery again (the delivery engine's requeue; the same webhook-id)."""

    def post(self, request: HttpRequest, project_slug: str, subscription_id, delivery_id) -> HttpResponse:
        subscription = self.subscription(subscription_id)
        delivery = subscriptions.delivery_get(subscription=subscription, delivery_id=delivery_id)
        try:
            subscriptions.delivery_replay(delivery=delivery, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            flash.flash(request, flash.EVENT_DELIVERY_REPLAYED, name=delivery.event_type)
        return self.back(subscription)
