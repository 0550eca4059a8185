"""Reads of the federation app: always scoped to a project, except the routing rule."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from federation.app_settings import app_settings
from federation.models import DomainClaim, IdentityProvider, ProviderKind


def identity_provider_list(*, project, query: str = "", kind: str = "", status: str = "") -> QuerySet:
    """The project's providers, filtered by name/issuer/domain text, kind and active status."""
    qs = IdentityProvider.objects.filter(project=project).annotate(
        domain_count=Count("domains", distinct=True),
        verified_domain_count=Count("domains", filter=Q(domains__verified_at__isnull=False), distinct=True),
    )
    if query.strip():
        text = query.strip()
        qs = qs.filter(
            Q(name__icontains=text) | Q(issuer__icontains=text) | Q(domains__domain__icontains=text.lower())
        ).distinct()
    if kind in ProviderKind.values:
        qs = qs.filter(kind=kind)
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "disabled":
        qs = qs.filter(is_active=False)
    return qs.prefetch_related(Prefetch("domains", queryset=DomainClaim.objects.order_by("domain"))).order_by(
        "name"
    )


def identity_provider_get(*, project, idp_id) -> IdentityProvider:
    """One provider of `project`; another project's id (or a malformed one) is a 404."""
    try:
        return IdentityProvider.objects.prefetch_related("domains").get(project=project, pk=idp_id)
    except (IdentityProvider.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such identity provider.") from exc


def domain_claim_get(*, identity_provider: IdentityProvider, domain_id) -> DomainClaim:
    try:
        return DomainClaim.objects.select_related("project").get(
            identity_provider=identity_provider, pk=domain_id
        )
    except (DomainClaim.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such domain claim.") from exc


def identity_provider_callback_url(identity_provider: IdentityProvider) -> str:
    """The redirect URI to register at the provider.

    allauth's URL conventions (django-allauth 65.x, `socialaccount/providers/google/urls.py` →
    `oauth2/urls.py: default_urlpatterns`, and `openid_connect/urls.py` with the default
    `SOCIALACCOUNT_OPENID_CONNECT_URL_PREFIX = "oidc"`), under `/accounts/` where identity/urls.py
    includes allauth: Google `/accounts/google/login/callback/` (one for every Google app),
    any other kind `/accounts/oidc/<provider_id>/login/callback/`. Not routed yet: the sign-in
    issue (#8 items 3-7) adds `allauth.socialaccount` and with it these routes.
    """
    base = app_settings.BASE_URL
    if identity_provider.kind == ProviderKind.GOOGLE:
        return f"{base}/accounts/google/login/callback/"
    return f"{base}/accounts/oidc/{identity_provider.provider_id}/login/callback/"


def identity_provider_for_email(email: str) -> IdentityProvider | None:
    """The routing rule: the active provider whose *verified* claim is the email's domain, else None.

    Exact domain match only (a claim of example.com does not route eng.example.com); unverified
    claims, inactive providers and addresses that do not parse route nowhere.
    """
    _, at, domain = (email or "").strip().rpartition("@")
    if not at or not domain:
        return None
    try:
        domain = domain.rstrip(".").lower().encode("idna").decode("ascii")
    except UnicodeError:
        return None
    claim = (
        DomainClaim.objects.filter(
            domain=domain, verified_at__isnull=False, identity_provider__is_active=True
        )
        .select_related("identity_provider")
        .first()
    )
    return claim.identity_provider if claim else None
