"""Routes of the accounts REST API (mounted under /api/v1/ by identity/api_urls.py)."""

from django.urls import path

from accounts import api

project = "projects/<uuid:project_id>"
membership = f"{project}/memberships/<uuid:membership_id>"
policy = f"{project}/access-policies/<uuid:policy_id>"

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="api-projects"),
    path(f"{project}/", api.ProjectDetailApi.as_view(), name="api-project"),
    path(f"{project}/memberships/", api.MembershipListApi.as_view(), name="api-memberships"),
    path(f"{membership}/", api.MembershipDetailApi.as_view(), name="api-membership"),
    path(
        f"{membership}/deactivate/", api.MembershipDeactivateApi.as_view(), name="api-membership-deactivate"
    ),
    path(
        f"{membership}/reactivate/", api.MembershipReactivateApi.as_view(), name="api-membership-reactivate"
    ),
    path(f"{project}/access-policies/", api.AccessPolicyListApi.as_view(), name="api-access-policies"),
    path(f"{policy}/", api.AccessPolicyDetailApi.as_view(), name="api-access-policy"),
]
