"""allauth finds provider classes in `<app>.provider` (allauth.socialaccount.providers.registry)."""

from federation.upstream.provider import provider_classes

__all__ = ["provider_classes"]
