from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from identity.portal_sections import PortalSection


class WebhooksConfig(AppConfig):
    """Will own inbound webhook endpoints, their verification schemes and the durable inbox."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Inbound webhooks"
    # Routed by webhooks/portal_urls.py (a "coming soon" page until the feature lands).
    portal_sections = (PortalSection("webhooks", _("Webhooks"), "portal:webhooks", order=60),)
