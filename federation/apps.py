from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from identity.portal_sections import PortalSection


class FederationConfig(AppConfig):
    """Will own Google / OpenID provider sign-in, per-project identity providers and domain routing."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "federation"
    verbose_name = "Federated sign-in"
    # Routed by federation/portal_urls.py (a "coming soon" page until the feature lands).
    portal_sections = (PortalSection("idps", _("Identity providers"), "portal:idps", order=50),)
