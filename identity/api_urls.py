"""The REST API, version 1: each app contributes its routes."""

from django.urls import include, path

from accounts import api_invitations as invites
from accounts import api_outbox as outbox

project = "projects/<uuid:project_id>"

urlpatterns = [
    path("", include("accounts.api_urls")),
    path(f"{project}/invites/", invites.InviteCreateApi.as_view(), name="api-invites"),
    path(f"{project}/invites/bulk/", invites.BulkInviteCreateApi.as_view(), name="api-bulk-invites"),
    path(f"{project}/invites/bulk/<uuid:job_id>/", invites.BulkInviteDetailApi.as_view(), name="api-bulk-invite"),
    path(f"{project}/invites/<uuid:invitation_id>/resend/", invites.InviteResendApi.as_view(), name="api-invite-resend"),
    path(f"{project}/invites/<uuid:invitation_id>/revoke/", invites.InviteRevokeApi.as_view(), name="api-invite-revoke"),
    path(f"{project}/outbox/", outbox.OutboxListApi.as_view(), name="api-outbox"),
    path(f"{project}/outbox/<uuid:message_id>/resend/", outbox.OutboxResendApi.as_view(), name="api-outbox-resend"),
]
