from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from identity.portal_sections import PortalSection


class FederationConfig(AppConfig):
    """Per-project identity providers and proven domain claims (built); Google / OpenID provider
    sign-in through allauth socialaccount arrives with the rest of issue #8 (docs/FEDERATION.md)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "federation"
    verbose_name = "Federated sign-in"
    # Routed by federation/portal_urls.py.
    portal_sections = (PortalSection("idps", _("Identity providers"), "portal:idps", order=50),)
