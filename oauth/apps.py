from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from identity.portal_sections import PortalSection


class OAuthConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "oauth"
    label = "oauth"
    verbose_name = "OAuth 2.0 / OpenID Connect"
    # Routed by oauth/portal_urls.py.
    portal_sections = (
        PortalSection("clients", _("Clients"), "portal:clients", order=40),
        PortalSection("simulator", _("Access simulator"), "portal:access_simulator", order=45),
    )
    # Boxes on a project's overview page (identity.portal.overview_panels).
    portal_overview = ("oauth.views_portal.client_overview",)

    def ready(self) -> None:
        from notifications.delivery import register_delivery_kind
        from oauth import receivers  # noqa: F401 - connects the signal receivers
        from oauth.backchannel import backchannel_logout_delivery

        register_delivery_kind(backchannel_logout_delivery)
