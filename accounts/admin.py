"""Django admin for operators: find things fast; never show password hashes."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import (
    AccessPolicy,
    AccessPolicyRule,
    BulkInvite,
    Membership,
    Project,
    SecurityRequest,
    User,
)


class MembershipInline(admin.TabularInline):
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


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "mfa_required", "jit_provisioning", "allow_self_signup", "created_at")
    list_filter = ("mfa_required", "jit_provisioning", "allow_self_signup")
    search_fields = ("name", "slug", "display_name")
    prepopulated_fields = {"slug": ("name",)}
    raw_id_fields = ("default_access_policy",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
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


class AccessPolicyRuleInline(admin.TabularInline):
    model = AccessPolicyRule
    extra = 0


@admin.register(AccessPolicy)
class AccessPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "created_at", "updated_at")
    list_filter = ("project",)
    search_fields = ("name", "description", "project__name")
    inlines = [AccessPolicyRuleInline]


@admin.register(AccessPolicyRule)
class AccessPolicyRuleAdmin(admin.ModelAdmin):
    list_display = ("policy", "resource_type", "interactions", "criteria", "position")
    search_fields = ("resource_type", "criteria", "policy__name")
    list_filter = ("interactions",)
    list_select_related = ("policy",)


@admin.register(SecurityRequest)
class SecurityRequestAdmin(admin.ModelAdmin):
    """Invitations and reset links; the secret's hash is never shown."""

    list_display = ("user", "kind", "project", "status", "created_at", "expires_at", "used_at", "revoked_at")
    list_filter = ("kind", "project")
    search_fields = ("user__email", "email", "project__name")
    exclude = ("secret_hash", "password_fingerprint")
    raw_id_fields = ("user", "project", "membership", "invited_by")
    list_select_related = ("user", "project")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in self.exclude]


@admin.register(BulkInvite)
class BulkInviteAdmin(admin.ModelAdmin):
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
    readonly_fields = ("content_hash", "rows", "invalid_rows", "results", "processed", "total")
    raw_id_fields = ("project", "created_by")
