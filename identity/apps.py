from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """The project package as an app: system checks and deployment commands, no models."""

    name = "identity"
    verbose_name = "Identity Portal (deployment)"

    def ready(self) -> None:
        from identity import checks  # noqa: F401  (registers the system checks)
