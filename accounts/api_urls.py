"""Routes of the accounts REST API (mounted under /api/v1/ by identity/api_urls.py).

The outbox routes are here until notifications has an API of its own.
"""

from django.urls import path

from accounts import api
from accounts import api_invitations as invites
from accounts import api_outbox as outbox

project = "projects/<uuid:project_id>"
membership = f"{project}/memberships/<uuid:membership_id>"
policy = f"{project}/access-policies/<uuid:policy_id>"
invitation = f"{project}/invites/<uuid:invitation_id>"

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="api-projects"),
    path(f"{project}/", api.ProjectDetailApi.as_view(), name="api-project"),
    path(f"{project}/settings/", api.ProjectSettingsApi.as_view(), name="api-project-settings"),
    path(f"{project}/memberships/", api.MembershipListApi.as_view(), name="api-memberships"),
    path(f"{membership}/", api.MembershipDetailApi.as_view(), name="api-membership"),
    path(
        f"{membership}/deactivate/", api.MembershipDeactivateApi.as_view(), name="api-membership-deactivate"
    ),
    path(
        f"{membership}/reactivate/", api.MembershipReactivateApi.as_view(), name="api-membership-reactivate"
    ),
    path(f"{membership}/sign-out/", api.MembershipSignOutApi.as_view(), name="api-membership-sign-out"),
    path(f"{membership}/mfa-reset/", api.MembershipMfaResetApi.as_view(), name="api-membership-mfa-reset"),
    path(f"{membership}/unlock/", api.MembershipUnlockApi.as_view(), name="api-membership-unlock"),
    path(f"{project}/access-policies/", api.AccessPolicyListApi.as_view(), name="api-access-policies"),
    path(f"{policy}/", api.AccessPolicyDetailApi.as_view(), name="api-access-policy"),
    path(f"{project}/invites/", invites.InviteCreateApi.as_view(), name="api-invites"),
    path(f"{project}/invites/bulk/", invites.BulkInviteCreateApi.as_view(), name="api-bulk-invites"),
    path(
        f"{project}/invites/bulk/<uuid:job_id>/",
        invites.BulkInviteDetailApi.as_view(),
        name="api-bulk-invite",
    ),
    path(f"{invitation}/resend/", invites.InviteResendApi.as_view(), name="api-invite-resend"),
    path(f"{invitation}/revoke/", invites.InviteRevokeApi.as_view(), name="api-invite-revoke"),
    path(f"{project}/outbox/", outbox.OutboxListApi.as_view(), name="api-outbox"),
    path(
        f"{project}/outbox/<uuid:message_id>/resend/",
        outbox.OutboxResendApi.as_view(),
        name="api-outbox-resend",
    ),
]
