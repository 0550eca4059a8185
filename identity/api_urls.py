"""The REST API, version 1: each app contributes its routes in its own `api_urls.py`."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("oauth.api_urls")),
    path("", include("federation.api_urls")),
    path("", include("webhooks.api_urls")),
    path("", include("audit.api_urls")),
]
