"""Inbound webhook endpoints and their inbox in the Django admin: operators look, services write.

View-only. Secrets, the URL token's digest and event bodies (personal data) are not shown;
portal admins of the project see bodies on the event's page.
"""

from django.contrib import admin

from identity.admin_tools import ViewOnlyAdminMixin
from webhooks.models import InboundEvent, WebhookEndpoint


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
