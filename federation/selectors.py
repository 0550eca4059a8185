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
    """The redirect URI to register at the provider: `/accounts/oidc/<provider_id>/login/callback/`
    for every kind, Google included (federation/upstream/urls.py, included by allauth under
    /accounts/). One per provider, so two projects' Google apps never share a callback."""
    from django.urls import reverse

    from federation.upstream.provider import PROVIDER_CLASS_ID

    path = reverse(f"{PROVIDER_CLASS_ID}_callback", kwargs={"provider_id": identity_provider.provider_id})
    return f"{app_settings.BASE_URL}{path}"


def identity_provider_for_email(email: str) -> IdentityProvider | None:
    """The routing rule: the active provider whose *verified* claim is the email's domain, else None.

    Exact domain match only (a claim of example.com does not route eng.example.com); unverified
    claims, inactive providers and addresses that do not parse route nowhere.
    """
    domain = email_domain(email)
    if domain is None:
        return None
    claim = (
        DomainClaim.objects.filter(
            domain=domain, verified_at__isnull=False, identity_provider__is_active=True
        )
        .select_related("identity_provider")
        .first()
    )
    return claim.identity_provider if claim else None


def email_domain(email: str | None) -> str | None:
    """The domain of an address as claims store it (lowercase, IDNA, no trailing dot), or None."""
    _, at, domain = (email or "").strip().rpartition("@")
    if not at or not domain:
        return None
    try:
        return domain.rstrip(".").lower().encode("idna").decode("ascii") or None
    except UnicodeError:
        return None


def identity_provider_vouches_for(identity_provider: IdentityProvider, email: str | None) -> bool:
    """Is `email` at one of this provider's verified domains? (Only then may the provider's
    `email_verified` match or name an account: never across tenants by an address it does not own.)"""
    domain = email_domain(email)
    return (
        domain is not None
        and identity_provider.domains.filter(domain=domain, verified_at__isnull=False).exists()
    )


def identity_provider_by_provider_id(provider_id: str) -> IdentityProvider | None:
    """The provider behind allauth's `<provider_id>` (URLs, SocialAccount.provider), active or not."""
    return IdentityProvider.objects.select_related("project").filter(provider_id=provider_id).first()


def sign_in_buttons(
    *, project_slug: str | None = None, client_id: str | None = None
) -> list[IdentityProvider]:
    """Providers offered as buttons on a project's sign-in page ("Sign in with Google"): the
    project's active Google providers, when the project allows Google sign-in. Without a
    project (the portal's own sign-in page) there are none: buttons never show one tenant's
    providers to another's users."""
    from accounts.models import Project, SignInMethod
    from oauth.models import Client

    project = None
    if project_slug:
        project = Project.objects.filter(slug=project_slug).first()
    elif client_id:
        project = Project.objects.filter(
            pk__in=Client.objects.filter(client_id=client_id).values("project_id")
        ).first()
    if project is None or SignInMethod.GOOGLE not in (project.allowed_sign_in_methods or []):
        return []
    return list(
        IdentityProvider.objects.filter(project=project, kind=ProviderKind.GOOGLE, is_active=True).order_by(
            "name"
        )
    )


def sign_in_acceptable(*, project, user, records: list[dict]) -> bool:
    """Does the way this session signed in satisfy `project`'s sign-in rules?

    `records` are allauth's authentication records of the session. A federated sign-in counts
    only through one of the project's own providers, of a method the project allows (a session
    from another tenant's provider does not open this project's apps); a password (or a
    set-password link, which leaves no record) only when the project allows passwords and no
    `required` provider routes the user's address.
    """
    methods = [r for r in records if r.get("method") in ("password", "socialaccount")]
    last = methods[-1] if methods else {"method": "password"}
    allowed = set(project.allowed_sign_in_methods or [])
    if last["method"] == "socialaccount":
        provider = IdentityProvider.objects.filter(provider_id=str(last.get("provider") or "")).first()
        return (
            provider is not None and provider.project_id == project.pk and provider.sign_in_method in allowed
        )
    routed = identity_provider_for_email(user.email or "")
    if routed is not None and routed.required:
        return False
    return "password" in allowed
