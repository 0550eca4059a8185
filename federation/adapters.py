"""django-allauth socialaccount customisation, at its documented seam (the adapter).

- Apps: every IdentityProvider is one allauth app, built per request from its row (no
  SocialApp rows to keep in step); generic listings get none, so no page ever lists other
  tenants' providers.
- Who signs in: federation/flows/sign_in.py decides (match, link, provision or refuse).
- Failures: one clear page and an audit event with the reason, never a stack trace.
"""

from __future__ import annotations

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.http import HttpRequest
from django.shortcuts import render

from audit.context import Actor
from federation.flows.sign_in import (
    SignInRefused,
    UpstreamIdentity,
    federated_identity_linked,
    federated_sign_in_refused,
    federated_sign_in_resolve,
)
from federation.models import IdentityProvider
from federation.selectors import identity_provider_by_provider_id
from federation.upstream.errors import UpstreamError
from federation.upstream.provider import PROVIDER_CLASS_ID

FAILURE_MESSAGES = {
    "cancelled": "Sign-in was cancelled.",
    "denied": "Your identity provider did not let you sign in.",
    "unknown": "Your identity provider answered with an error. Please try again.",
}


def social_app(identity_provider: IdentityProvider) -> SocialApp:
    """The allauth app of a provider: unsaved, built from the row each time."""
    return SocialApp(
        provider=PROVIDER_CLASS_ID,
        provider_id=identity_provider.provider_id,
        name=identity_provider.name,
        client_id=identity_provider.client_id,
        secret=identity_provider.client_secret or "",
        settings={
            "server_url": identity_provider.issuer,
            "issuers": sorted(identity_provider.accepted_issuers),
            "scope": identity_provider.scope_list,
            "oauth_pkce_enabled": identity_provider.pkce,
            "fetch_userinfo": False,
            "identity_provider_id": str(identity_provider.pk),
            "active": identity_provider.is_active,
        },
    )


def _page(request: HttpRequest, *, provider: IdentityProvider | None, message: str, status: int):
    return render(
        request,
        "federation/sign_in_problem.html",
        {"identity_provider": provider, "message": message},
        status=status,
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request: HttpRequest, provider=None, client_id=None) -> list[SocialApp]:
        if not provider or provider == PROVIDER_CLASS_ID:
            return []
        providers = IdentityProvider.objects.filter(provider_id=provider)
        if client_id:
            providers = providers.filter(client_id=client_id)
        return [social_app(idp) for idp in providers]

    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        # pre_social_login links or refuses every identity; allauth's sign-up form never shows.
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin) -> None:
        provider = identity_provider_by_provider_id(sociallogin.account.provider)
        actor = Actor.from_request(request)
        identity = UpstreamIdentity.from_claims(sociallogin.account.extra_data.get("id_token") or {})
        if provider is None:  # deleted between the redirect and the callback
            federated_sign_in_refused(provider=None, reason="provider_disabled", actor=actor)
            raise ImmediateHttpResponse(
                _page(request, provider=None, message=FAILURE_MESSAGES["denied"], status=403)
            )
        linked_user = sociallogin.user if sociallogin.is_existing else None
        try:
            outcome = federated_sign_in_resolve(
                provider=provider, identity=identity, linked_user=linked_user, actor=actor
            )
        except SignInRefused as refusal:
            federated_sign_in_refused(
                provider=provider, reason=refusal.reason, actor=actor, subject=identity.subject
            )
            raise ImmediateHttpResponse(
                _page(request, provider=provider, message=refusal.message, status=403)
            ) from None
        if outcome.linked:
            if outcome.provisioned:
                sociallogin.user = outcome.user
                sociallogin.save(request, connect=True)
            else:  # an existing account gains a way in: allauth also emails them about it
                sociallogin.connect(request, outcome.user)
            federated_identity_linked(
                provider=provider, user=outcome.user, subject=identity.subject, actor=actor
            )
        else:
            sociallogin.user = outcome.user

    def on_authentication_error(
        self, request: HttpRequest, provider, error=None, exception=None, extra_context=None
    ) -> None:
        identity_provider = identity_provider_by_provider_id(getattr(provider.app, "provider_id", "") or "")
        if isinstance(exception, UpstreamError):
            reason, message = exception.reason, exception.message
        else:
            reason = str(error or "unknown")
            message = FAILURE_MESSAGES.get(reason, FAILURE_MESSAGES["unknown"])
        federated_sign_in_refused(
            provider=identity_provider, reason=reason, actor=Actor.from_request(request)
        )
        raise ImmediateHttpResponse(_page(request, provider=identity_provider, message=message, status=400))

    def validate_disconnect(self, account, accounts) -> None:
        from federation.services import identity_unlink_problem

        if problem := identity_unlink_problem(account=account, accounts=accounts):
            from django.core.exceptions import ValidationError

            raise ValidationError(problem)
