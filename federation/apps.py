from django.apps import AppConfig


class FederationConfig(AppConfig):
    """Will own Google / OpenID provider sign-in, per-project identity providers and domain routing."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "federation"
    verbose_name = "Federated sign-in"
