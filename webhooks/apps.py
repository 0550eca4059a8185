from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Will own inbound webhook endpoints, their verification schemes and the durable inbox."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Inbound webhooks"
