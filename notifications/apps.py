from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Owns the delivery engine, email (templates, outbox, ESP tracking) and, later, outbound webhooks."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications and outbox"

    def ready(self) -> None:
        from notifications import receivers  # noqa: F401 - connects anymail's tracking signal
        from notifications.delivery import register_delivery_kind
        from notifications.email import email_delivery

        register_delivery_kind(email_delivery)
