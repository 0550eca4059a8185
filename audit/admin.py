from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, operators can search and filter but never edit."""

    list_display = ("created_at", "action", "outcome", "actor_label", "project", "target_label", "ip_address")
    list_filter = ("action", "outcome", "created_at")
    search_fields = ("actor_label", "target_label", "target_id", "actor_client_id", "ip_address")
    date_hierarchy = "created_at"
    list_select_related = ("project",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
