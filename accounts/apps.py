from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from identity.portal_sections import PortalSection


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts and projects"
    # Routed by accounts/portal_urls.py. The outbox pages are here until notifications has its own.
    portal_sections = (
        PortalSection("overview", _("Overview"), "portal:project", order=5),
        PortalSection("users", _("Users"), "portal:users", order=10),
        PortalSection("invitations", _("Invitations"), "portal:invitations", order=20),
        PortalSection("policies", _("Access policies"), "portal:policies", order=30),
        PortalSection("outbox", _("Outbox"), "portal:outbox", order=70),
        PortalSection("audit", _("Audit log"), "portal:audit", order=80),
        PortalSection("settings", _("Settings"), "portal:project_settings", order=90),
    )

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401 - connects the sign-out receiver
        from accounts.services.bulk_invites import bulk_invite_resume_stalled
        from accounts.services.security_links import security_link_message_refusal
        from notifications.delivery import register_relay_hook
        from notifications.services import register_resend_guard

        # A bulk-invite job whose publish failed (broker down) is picked up by the relay.
        register_relay_hook("bulk_invites", bulk_invite_resume_stalled)
        # The outbox never re-sends a dead set-password link (superseded, revoked, used, expired).
        register_resend_guard("security_links", security_link_message_refusal)
