"""Client pages and the access simulator of the project portal (composed under /portal/,
namespace `portal`, by identity/urls.py)."""

from django.urls import path

from oauth import views_portal as views
from oauth import views_simulator

urlpatterns = [
    path(
        "<slug:project_slug>/access-simulator/",
        views_simulator.AccessSimulatorView.as_view(),
        name="access_simulator",
    ),
    path("<slug:project_slug>/clients/", views.ClientListView.as_view(), name="clients"),
    path("<slug:project_slug>/clients/new/", views.ClientCreateView.as_view(), name="client_create"),
    path("<slug:project_slug>/clients/<int:client_pk>/", views.ClientDetailView.as_view(), name="client"),
    path(
        "<slug:project_slug>/clients/<int:client_pk>/secret/",
        views.ClientSecretView.as_view(),
        name="client_secret",
    ),
    *[
        path(
            f"<slug:project_slug>/clients/<int:client_pk>/{action}/",
            views.ClientActionView.as_view(action=action),
            name=f"client_{action}",
        )
        for action in ("rotate", "disable", "enable", "delete")
    ],
]
