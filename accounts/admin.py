"""Django admin for operators: find things fast; never show password hashes.

Writes go through the services (identity/admin_tools.py): memberships, policies, invitations
and bulk jobs are view-only here, membership status changes are admin actions calling the
services (audit record, `membership_deactivated` → tokens revoked), and project edits are saved
by `project_update` (audited). Projects are created by `createproject` or sign-up, never here.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import (
    AccessPolicy,
    AccessPolicyRule,
    BulkInvite,
    Membership,
    Project,
    SecurityRequest,
    User,
)
from accounts.services.projects import PROJECT_SETTINGS
from audit.context import Actor
from identity import flash
from identity.admin_tools import ViewOnlyAdminMixin, apply_to_each


class MembershipInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ("project", "role", "is_active", "access_policy", "external_id", "profile")
    raw_id_fields = ("project", "access_policy")
    show_change_link = True


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_active", "is_staff", "last_login", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "first_name", "last_name", "memberships__external_id")
    readonly_fields = ("last_login", "date_joined")
    # The password hash is never displayed; operators use the "reset password" form.
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Status", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = [MembershipInline]
    actions = ("sign_out_everywhere",)

    def save_model(self, request, obj, form, change) -> None:
        """Deactivating a user here also signs them out everywhere (sessions and tokens)."""
        deactivated = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if deactivated:
            from accounts.services.sessions import user_sign_out_everywhere

            user_sign_out_everywhere(user=obj, actor=Actor.from_request(request), reason="deactivated")

    @admin.action(
        description=_("Sign out everywhere (ends every session, revokes every token)"), permissions=["change"]
    )
    def sign_out_everywhere(self, request, queryset) -> None:
        from accounts.services.sessions import user_sign_out_everywhere

        actor = Actor.from_request(request)
        apply_to_each(
            request,
            queryset,
            lambda user: user_sign_out_everywhere(user=user, actor=actor, reason="everywhere"),
            done=flash.ADMIN_USERS_SIGNED_OUT,
        )


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "mfa_required", "allow_self_signup", "created_at")
    list_filter = ("mfa_required", "allow_self_signup")
    search_fields = ("name", "slug", "display_name")
    fields = (*PROJECT_SETTINGS, "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    raw_id_fields = ("default_access_policy",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default

    def has_add_permission(self, request) -> bool:
        return False  # a project needs an owner: `createproject`, or sign-up

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # no service deletes projects (and their members, clients, audit trail)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:  # only the project's own policies can be its default
            field = form.base_fields["default_access_policy"]
            field.queryset = field.queryset.filter(project=obj)
        return form

    def save_model(self, request, obj, form, change) -> None:
        # The form validated the input; the service re-checks its rules, saves and audits.
        services.project_update(
            project=obj,
            actor=Actor.from_request(request),
            **{name: form.cleaned_data[name] for name in form.changed_data},
        )


@admin.register(Membership)
class MembershipAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "user",
        "project",
        "role",
        "is_active",
        "access_policy",
        "external_id",
        "profile",
        "created_at",
    )
    list_filter = ("role", "is_active", "project")
    search_fields = (
        "user__email",
        "user__first_name",
        "user__last_name",
        "external_id",
        "profile",
        "project__name",
    )
    raw_id_fields = ("user", "project", "access_policy", "invited_by")
    list_select_related = ("user", "project", "access_policy")
    actions = ("deactivate_memberships", "reactivate_memberships")

    @admin.action(description=_("Deactivate (revokes their tokens)"), permissions=["manage"])
    def deactivate_memberships(self, request, queryset) -> None:
        actor = Actor.from_request(request)
        apply_to_each(
            request,
            queryset,
            lambda membership: services.membership_deactivate(membership=membership, actor=actor),
            done=flash.ADMIN_MEMBERSHIPS_DEACTIVATED,
        )

    @admin.action(description=_("Reactivate"), permissions=["manage"])
    def reactivate_memberships(self, request, queryset) -> None:
        actor = Actor.from_request(request)
        apply_to_each(
            request,
            queryset,
            lambda membership: services.membership_reactivate(membership=membership, actor=actor),
            done=flash.ADMIN_MEMBERSHIPS_REACTIVATED,
        )


class AccessPolicyRuleInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = AccessPolicyRule
    extra = 0


@admin.register(AccessPolicy)
class AccessPolicyAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "project", "created_at", "updated_at")
    list_filter = ("project",)
    search_fields = ("name", "description", "project__name")
    inlines = [AccessPolicyRuleInline]


@admin.register(AccessPolicyRule)
class AccessPolicyRuleAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("policy", "resource_type", "interactions", "criteria", "position")
    search_fields = ("resource_type", "criteria", "policy__name")
    list_filter = ("interactions",)
    list_select_related = ("policy",)


@admin.register(SecurityRequest)
class SecurityRequestAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Invitations and reset links; the secret's hash is never shown."""

    list_display = ("user", "kind", "project", "status", "created_at", "expires_at", "used_at", "revoked_at")
    list_filter = ("kind", "project")
    search_fields = ("user__email", "email", "project__name")
    exclude = ("secret_hash", "password_fingerprint")
    raw_id_fields = ("user", "project", "membership", "invited_by")
    list_select_related = ("user", "project")


@admin.register(BulkInvite)
class BulkInviteAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "project",
        "source_name",
        "status",
        "processed",
        "total",
        "created_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "project")
    search_fields = ("source_name", "project__name", "created_by__email")
    raw_id_fields = ("project", "created_by")
