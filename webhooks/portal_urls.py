"""Portal pages of the webhooks app (composed under /portal/, namespace `portal`, by identity/urls.py)."""

from django.urls import path

from identity.portal import ComingSoonView

urlpatterns = [
    path("<slug:project_slug>/webhooks/", ComingSoonView.as_view(section="webhooks"), name="webhooks"),
]
