"""Identity providers and domain claims in the Django admin: operators look, services write.

Both are view-only (secrets are never shown). The one write operators need here is vouching
for a domain claim the DNS check cannot prove (e.g. a customer who cannot publish a TXT
record): the "Verify (operator)" action calls the service, so the audit record and the
deployment-wide uniqueness rule hold exactly as for a DNS verification.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.context import Actor
from federation import services
from federation.models import DomainClaim, IdentityProvider
from identity import flash
from identity.admin_tools import ViewOnlyAdminMixin, apply_to_each


class DomainClaimInline(admin.TabularInline):
    model = DomainClaim
    fields = ("domain", "verified_at", "verification_method", "verified_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IdentityProvider)
class IdentityProviderAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "project", "issuer", "is_active", "required", "created_at")
    list_filter = ("kind", "is_active", "required", "match_by")
    search_fields = ("name", "issuer", "client_id", "project__name", "domains__domain")
    exclude = ("client_secret",)
    list_select_related = ("project",)
    inlines = (DomainClaimInline,)


@admin.register(DomainClaim)
class DomainClaimAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "domain",
        "identity_provider",
        "project",
        "verified_at",
        "verification_method",
        "created_at",
    )
    list_filter = ("verification_method", ("verified_at", admin.EmptyFieldListFilter))
    search_fields = ("domain", "identity_provider__name", "project__name")
    list_select_related = ("identity_provider", "project")
    exclude = ("token",)
    actions = ("verify_by_operator",)

    @admin.action(description=_("Verify (operator vouches for the domain)"), permissions=["manage"])
    def verify_by_operator(self, request, queryset) -> None:
        actor = Actor.from_request(request)
        apply_to_each(
            request,
            queryset.select_related("project"),
            lambda claim: services.domain_claim_verify_by_operator(claim=claim, actor=actor),
            done=flash.ADMIN_DOMAINS_VERIFIED,
        )
