from django.contrib import admin

from notifications.models import OutboundMessage


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    """Delivery state for operators. Bodies are not shown: they can carry set-password links."""

    list_display = (
        "created_at",
        "to_email",
        "kind",
        "status",
        "attempts",
        "project",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "kind", "project")
    search_fields = ("to_email", "subject", "esp_message_id", "idempotency_key")
    exclude = ("body_text", "body_html")
    date_hierarchy = "created_at"
    list_select_related = ("project",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request) -> bool:
        return False
