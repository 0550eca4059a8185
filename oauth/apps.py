from django.apps import AppConfig


class OAuthConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "oauth"
    label = "oauth"
    verbose_name = "OAuth 2.0 / OpenID Connect"

    def ready(self) -> None:
        from oauth import receivers  # noqa: F401 - connects the signal receivers
