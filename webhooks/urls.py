"""The webhooks app's own top-level routes (included under /webhooks/ by identity/urls.py)."""

from django.urls import path

from webhooks import views_inbound

app_name = "webhooks"

urlpatterns = [
    path("in/<str:token>/", views_inbound.receive, name="receive"),
]
