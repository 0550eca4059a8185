"""Routes of the identity-provider REST API (mounted under /api/v1/ by identity/api_urls.py)."""

from django.urls import path

from federation import api

project = "projects/<uuid:project_id>"
idp = f"{project}/identity-providers/<uuid:idp_id>"
domain = f"{idp}/domains/<uuid:domain_id>"

urlpatterns = [
    path(f"{project}/identity-providers/", api.IdentityProviderListCreateApi.as_view(), name="api-idps"),
    path(f"{idp}/", api.IdentityProviderDetailApi.as_view(), name="api-idp"),
    path(f"{idp}/test/", api.IdentityProviderTestApi.as_view(), name="api-idp-test"),
    path(f"{idp}/domains/", api.DomainClaimCreateApi.as_view(), name="api-idp-domains"),
    path(f"{domain}/", api.DomainClaimDetailApi.as_view(), name="api-idp-domain"),
    path(f"{domain}/verify/", api.DomainClaimVerifyApi.as_view(), name="api-idp-domain-verify"),
]
