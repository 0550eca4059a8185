"""Routes of the OAuth clients REST API and the access simulator (mounted under /api/v1/ by identity/api_urls.py)."""

from django.urls import path

from oauth import api, api_launch, api_sessions, api_simulator

project = "projects/<uuid:project_id>"
client = f"{project}/clients/<int:client_pk>"

urlpatterns = [
    path("me/sessions/", api_sessions.MySessionsApi.as_view(), name="api-me-sessions"),
    path("me/sessions/<str:session_id>/", api_sessions.MySessionApi.as_view(), name="api-me-session"),
    path(f"{project}/clients/", api.ClientListCreateApi.as_view(), name="api-clients"),
    path(f"{client}/", api.ClientDetailApi.as_view(), name="api-client"),
    path(f"{client}/rotate-secret/", api.ClientRotateSecretApi.as_view(), name="api-client-rotate"),
    path(f"{client}/disable/", api.ClientDisableApi.as_view(), name="api-client-disable"),
    path(f"{client}/enable/", api.ClientEnableApi.as_view(), name="api-client-enable"),
    path(
        f"{project}/launch-contexts/", api_launch.LaunchContextCreateApi.as_view(), name="api-launch-contexts"
    ),
    path(
        f"{project}/access-simulator/",
        api_simulator.AccessSimulatorApi.as_view(),
        name="api-access-simulator",
    ),
]
