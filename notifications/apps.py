from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Will own email templates and sending, the outbox, outbound webhooks and ESP tracking."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications and outbox"

    def ready(self) -> None:
        from notifications import receivers  # noqa: F401 - connects anymail's tracking signal
