from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from identity.portal_sections import PortalSection


class WebhooksConfig(AppConfig):
    """Owns inbound webhook endpoints, their verification schemes, the durable inbox and handlers."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Inbound webhooks"
    # Routed by webhooks/portal_urls.py.
    portal_sections = (PortalSection("webhooks", _("Webhooks"), "portal:webhooks", order=60),)

    def ready(self) -> None:
        from notifications.delivery import register_delivery_kind
        from webhooks import checks  # noqa: F401 - registers the system checks
        from webhooks.delivery import inbound_delivery
        from webhooks.handlers import register_handler
        from webhooks.handlers.generic import GenericHandler
        from webhooks.handlers.okta import OktaUserLifecycleHandler

        register_delivery_kind(inbound_delivery)
        # Outbound events: made from the audit log (see the docstring of webhooks/outbound.py).
        from django.db.models.signals import post_save

        from audit.models import AuditEvent
        from audit.signals import events_recorded
        from webhooks.outbound import audit_event_fan_out, audit_events_fan_out, webhook_event_delivery

        register_delivery_kind(webhook_event_delivery)
        post_save.connect(audit_event_fan_out, sender=AuditEvent, dispatch_uid="webhooks.audit_event_fan_out")
        events_recorded.connect(
            audit_events_fan_out, sender=AuditEvent, dispatch_uid="webhooks.audit_events_fan_out"
        )
        # One line per handler module (docs/WEBHOOKS.md, "Adding a handler").
        register_handler(GenericHandler())
        register_handler(OktaUserLifecycleHandler())
