"""Portal pages of the federation app (composed under /portal/, namespace `portal`, by identity/urls.py)."""

from django.urls import path

from identity.portal import ComingSoonView

urlpatterns = [
    path("<slug:project_slug>/identity-providers/", ComingSoonView.as_view(section="idps"), name="idps"),
]
