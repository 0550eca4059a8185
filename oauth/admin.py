"""Admin class for OAuth clients, plugged in through DOT's APPLICATION_ADMIN_CLASS setting.

DOT registers its (swapped) models itself; the client admin is ours so that
hashed secrets are never shown or editable, and the owning project is visible.
Clients are view-only here: the portal, the API and `createclient` write them through the
services; disabling, enabling and deleting are admin actions calling the services (audit
record, tokens revoked, client cache forgotten).
"""

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.context import Actor
from identity import flash
from identity.admin_tools import ViewOnlyAdminMixin, apply_to_each


class ClientAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "client_id",
        "project",
        "client_type",
        "authorization_grant_type",
        "is_active",
        "created",
    )
    list_filter = (
        "client_type",
        "authorization_grant_type",
        "token_endpoint_auth_method",
        "is_active",
        "skip_authorization",
        "project",
    )
    search_fields = ("name", "client_id", "project__name")
    raw_id_fields = ("user", "project", "access_policy")
    exclude = ("client_secret", "retiring_client_secret", "hash_client_secret")
    readonly_fields = (
        "client_id",
        "registration_source",
        "cimd_expires_at",
        "secret_rotated_at",
        "created",
        "updated",
    )
    list_select_related = ("project",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # jwks_uri; Django 6's default
    actions = ("disable_clients", "enable_clients", "delete_clients")

    @admin.action(description=_("Disable (revokes their tokens)"), permissions=["manage"])
    def disable_clients(self, request, queryset) -> None:
        self._apply(request, queryset, "disable", flash.ADMIN_CLIENTS_DISABLED)

    @admin.action(description=_("Enable"), permissions=["manage"])
    def enable_clients(self, request, queryset) -> None:
        self._apply(request, queryset, "enable", flash.ADMIN_CLIENTS_ENABLED)

    @admin.action(description=_("Delete (revokes their tokens)"), permissions=["manage"])
    def delete_clients(self, request, queryset) -> None:
        self._apply(request, queryset, "delete", flash.ADMIN_CLIENTS_DELETED)

    def _apply(self, request, queryset, operation: str, done: flash.Flash) -> None:
        from oauth import services  # DOT imports this module by path while the models load

        actor = Actor.from_request(request)
        calls = {
            "disable": lambda client: services.client_set_active(client=client, actor=actor, active=False),
            "enable": lambda client: services.client_set_active(client=client, actor=actor, active=True),
            "delete": lambda client: services.client_delete(client=client, actor=actor),
        }
        apply_to_each(request, queryset.select_related("project"), calls[operation], done=done)


from oauth.models import Consent, LaunchContext, LogoutNotice, SigningKey  # noqa: E402 - after the class DOT imports by path


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """Keys are listed, never shown: the private half stays out of the admin."""

    list_display = ("kid", "algorithm", "status", "created_at", "activated_at", "retire_after")
    list_filter = ("algorithm", "status")
    search_fields = ("kid",)
    exclude = ("private_pem",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "private_pem"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "client", "scopes", "granted_at")
    search_fields = ("user__email", "client__name", "client__client_id")
    raw_id_fields = ("user", "client")


@admin.register(LaunchContext)
class LaunchContextAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """EHR launches registered through the API: who, which patient, when used (the value is hashed)."""

    list_display = ("project", "patient", "encounter", "created_by", "created_at", "expires_at", "used_at")
    list_filter = ("project",)
    search_fields = ("patient", "encounter", "created_by")
    exclude = ("launch_checksum",)


@admin.register(LogoutNotice)
class LogoutNoticeAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Back-channel logout tokens owed to client apps, with their delivery state."""

    list_display = ("client", "user", "sid", "status", "attempts", "next_attempt_at", "sent_at", "created_at")
    list_filter = ("status",)
    search_fields = ("client__name", "client__client_id", "sid", "user__email")
    raw_id_fields = ("client", "user")
