"""Portal pages of the accounts app (composed under /portal/, namespace `portal`, by identity/urls.py)."""

from django.urls import path

from accounts import views, views_overview
from accounts import views_invitations as inv

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("switch/", views.SwitchProjectView.as_view(), name="switch"),
    path("projects/new/", views.ProjectCreateView.as_view(), name="project_create"),
    path("<slug:project_slug>/", views_overview.ProjectOverviewView.as_view(), name="project"),
    path("<slug:project_slug>/users/", views.UserListView.as_view(), name="users"),
    path("<slug:project_slug>/settings/", views.ProjectSettingsView.as_view(), name="project_settings"),
    path(
        "<slug:project_slug>/users/<uuid:membership_id>/",
        views.MembershipDetailView.as_view(),
        name="membership",
    ),
    path(
        "<slug:project_slug>/users/<uuid:membership_id>/deactivate/",
        views.MembershipStatusView.as_view(activate=False),
        name="membership_deactivate",
    ),
    path(
        "<slug:project_slug>/users/<uuid:membership_id>/profile/",
        views.MembershipProfileView.as_view(),
        name="membership_profile",
    ),
    path(
        "<slug:project_slug>/users/<uuid:membership_id>/password-reset/",
        views.MembershipPasswordResetView.as_view(),
        name="membership_password_reset",
    ),
    path(
        "<slug:project_slug>/users/<uuid:membership_id>/mfa-reset/",
        views.MembershipMfaResetView.as_view(),
        name="membership_mfa_reset",
    ),
    path(
        "<slug:project_slug>/users/<uuid:membership_id>/sign-out/",
        views.MembershipSignOutView.as_view(),
        name="membership_sign_out",
    ),
    path(
        "<slug:project_slug>/users/<uuid:membership_id>/unlock/",
        views.MembershipUnlockView.as_view(),
        name="membership_unlock",
    ),
    path(
        "<slug:project_slug>/users/<uuid:membership_id>/reactivate/",
        views.MembershipStatusView.as_view(activate=True),
        name="membership_reactivate",
    ),
    path("<slug:project_slug>/policies/", views.PolicyListView.as_view(), name="policies"),
    path("<slug:project_slug>/policies/new/", views.PolicyEditView.as_view(), name="policy_create"),
    path("<slug:project_slug>/policies/<uuid:policy_id>/", views.PolicyEditView.as_view(), name="policy"),
    path(
        "<slug:project_slug>/policies/<uuid:policy_id>/delete/",
        views.PolicyDeleteView.as_view(),
        name="policy_delete",
    ),
    path("<slug:project_slug>/audit/", views.AuditLogView.as_view(), name="audit"),
    path("<slug:project_slug>/audit/export/", views.AuditLogView.as_view(export=True), name="audit_export"),
    path("<slug:project_slug>/outbox/", inv.OutboxListView.as_view(), name="outbox"),
    path(
        "<slug:project_slug>/outbox/<uuid:message_id>/", inv.OutboxDetailView.as_view(), name="outbox_message"
    ),
    path(
        "<slug:project_slug>/outbox/<uuid:message_id>/resend/",
        inv.OutboxResendView.as_view(),
        name="outbox_resend",
    ),
    path(
        "<slug:project_slug>/outbox/<uuid:message_id>/html/",
        inv.OutboxPreviewHtmlView.as_view(),
        name="outbox_html",
    ),
    path("<slug:project_slug>/users/invite/", inv.InviteView.as_view(), name="invite"),
    path("<slug:project_slug>/users/invite/bulk/", inv.BulkInviteView.as_view(), name="bulk_invite_upload"),
    path(
        "<slug:project_slug>/users/invite/bulk/<uuid:job_id>/",
        inv.BulkInviteDetailView.as_view(),
        name="bulk_invite",
    ),
    path("<slug:project_slug>/invitations/", inv.InvitationListView.as_view(), name="invitations"),
    path(
        "<slug:project_slug>/invitations/<uuid:invitation_id>/resend/",
        inv.InvitationActionView.as_view(action="resend"),
        name="invitation_resend",
    ),
    path(
        "<slug:project_slug>/invitations/<uuid:invitation_id>/revoke/",
        inv.InvitationActionView.as_view(action="revoke"),
        name="invitation_revoke",
    ),
]
