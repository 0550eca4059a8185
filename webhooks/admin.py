"""Inbound webhook endpoints and their inbox, outbound event subscriptions and their deliveries in
the Django admin: operators look, services write.

View-only. Secrets, the URL token's digest, event bodies and payloads (personal data) are not shown;
portal admins of the project see bodies on the event's page.
"""

from django.contrib import admin

from identity.admin_tools import ViewOnlyAdminMixin
from webhooks.models import EventDelivery, EventSubscription, InboundEvent, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "project", "scheme", "handler", "is_active", "created_at")
    list_filter = ("scheme", "handler", "is_active")
    search_fields = ("name", "project__name", "token_prefix")
    exclude = ("secret", "previous_secret", "token_checksum")
    list_select_related = ("project",)


@admin.register(InboundEvent)
class InboundEventAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "endpoint", "event_type", "event_id", "status", "attempts", "last_error")
    list_filter = ("status",)
    search_fields = ("event_id", "event_type", "endpoint__name")
    exclude = ("body",)
    date_hierarchy = "created_at"
    list_select_related = ("endpoint",)


@admin.register(EventSubscription)
class EventSubscriptionAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("url", "project", "is_active", "disabled_reason", "failing_since", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "project__name")
    exclude = ("secret",)
    list_select_related = ("project",)


@admin.register(EventDelivery)
class EventDeliveryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "subscription", "event_type", "status", "attempts", "last_response_code")
    list_filter = ("status", "event_type")
    search_fields = ("event_type", "subscription__url")
    exclude = ("payload",)
    date_hierarchy = "created_at"
    list_select_related = ("subscription",)
