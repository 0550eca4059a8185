"""Portal pages of the federation app (composed under /portal/, namespace `portal`, by identity/urls.py)."""

from django.urls import path

from federation import views

idps = "<slug:project_slug>/identity-providers"
idp = f"{idps}/<uuid:idp_id>"
domain = f"{idp}/domains/<uuid:domain_id>"

urlpatterns = [
    path(f"{idps}/", views.IdentityProviderListView.as_view(), name="idps"),
    path(f"{idps}/new/", views.IdentityProviderCreateView.as_view(), name="idp_create"),
    path(f"{idp}/", views.IdentityProviderDetailView.as_view(), name="idp"),
    path(f"{idp}/test/", views.IdentityProviderTestView.as_view(), name="idp_test"),
    path(f"{idp}/delete/", views.IdentityProviderDeleteView.as_view(), name="idp_delete"),
    path(f"{idp}/domains/", views.DomainClaimCreateView.as_view(), name="idp_domain_create"),
    path(f"{domain}/verify/", views.DomainClaimActionView.as_view(action="verify"), name="idp_domain_verify"),
    path(f"{domain}/delete/", views.DomainClaimActionView.as_view(action="delete"), name="idp_domain_delete"),
]
