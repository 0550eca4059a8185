"""Admin class for OAuth clients, plugged in through DOT's APPLICATION_ADMIN_CLASS setting.

DOT registers its (swapped) models itself; the client admin is ours so that
hashed secrets are never shown or editable, and the owning project is visible.
"""

from django.contrib import admin


class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "client_id", "project", "client_type", "authorization_grant_type", "is_active", "created")
    list_filter = ("client_type", "authorization_grant_type", "is_active", "skip_authorization", "project")
    search_fields = ("name", "client_id", "project__name")
    raw_id_fields = ("user", "project", "access_policy")
    exclude = ("client_secret", "retiring_client_secret", "hash_client_secret")
    readonly_fields = ("client_id", "registration_source", "cimd_expires_at", "secret_rotated_at", "created", "updated")
    list_select_related = ("project",)
