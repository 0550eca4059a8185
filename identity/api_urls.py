"""The REST API, version 1: each app contributes its routes."""

from django.urls import include, path

from accounts import api_invitations as invites
from accounts import api_outbox as outbox
from oauth import api as clients

project = "projects/<uuid:project_id>"

urlpatterns = [
    path("", include("accounts.api_urls")),
    path(f"{project}/invites/", invites.InviteCreateApi.as_view(), name="api-invites"),
    path(f"{project}/invites/bulk/", invites.BulkInviteCreateApi.as_view(), name="api-bulk-invites"),
    path(
        f"{project}/invites/bulk/<uuid:job_id>/",
        invites.BulkInviteDetailApi.as_view(),
        name="api-bulk-invite",
    ),
    path(
        f"{project}/invites/<uuid:invitation_id>/resend/",
        invites.InviteResendApi.as_view(),
        name="api-invite-resend",
    ),
    path(
        f"{project}/invites/<uuid:invitation_id>/revoke/",
        invites.InviteRevokeApi.as_view(),
        name="api-invite-revoke",
    ),
    path(f"{project}/clients/", clients.ClientListCreateApi.as_view(), name="api-clients"),
    path(f"{project}/clients/<int:client_pk>/", clients.ClientDetailApi.as_view(), name="api-client"),
    path(
        f"{project}/clients/<int:client_pk>/rotate-secret/",
        clients.ClientRotateSecretApi.as_view(),
        name="api-client-rotate",
    ),
    path(
        f"{project}/clients/<int:client_pk>/disable/",
        clients.ClientDisableApi.as_view(),
        name="api-client-disable",
    ),
    path(
        f"{project}/clients/<int:client_pk>/enable/",
        clients.ClientEnableApi.as_view(),
        name="api-client-enable",
    ),
    path(f"{project}/outbox/", outbox.OutboxListApi.as_view(), name="api-outbox"),
    path(
        f"{project}/outbox/<uuid:message_id>/resend/",
        outbox.OutboxResendApi.as_view(),
        name="api-outbox-resend",
    ),
]
