"""Portal forms of the federation app: they parse; federation.services decides."""

from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.core import context as allauth_context
from django import forms

from accounts.services import lockout
from audit.context import client_ip
from federation.models import DEFAULT_SCOPES, IdentityProvider, MatchBy, ProviderKind
from federation.selectors import email_domain, identity_provider_for_email


class IdentityProviderForm(forms.Form):
    kind = forms.ChoiceField(choices=ProviderKind.choices, widget=forms.RadioSelect)
    name = forms.CharField(max_length=120)
    issuer = forms.CharField(
        required=False,
        max_length=500,
        label="Issuer URL (OpenID Connect only)",
        help_text="Exactly as the provider publishes it, e.g. https://login.example.com/realms/acme.",
    )
    org_domain = forms.CharField(
        required=False,
        max_length=255,
        label="Okta org or Auth0 tenant domain",
        help_text="Okta: acme.okta.com (or your custom domain). Auth0: acme.eu.auth0.com.",
    )
    aws_region = forms.CharField(
        required=False, max_length=32, label="AWS region (Cognito only)", help_text="e.g. eu-west-1"
    )
    user_pool_id = forms.CharField(
        required=False,
        max_length=64,
        label="User pool ID (Cognito only)",
        help_text="e.g. eu-west-1_AbC123xyz",
    )
    client_id = forms.CharField(max_length=255, label="Client ID")
    client_secret = forms.CharField(
        required=False,
        label="Client secret",
        # Never rendered back: the page shows whether one is stored, not what it is.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    scopes = forms.CharField(max_length=500, initial=DEFAULT_SCOPES, help_text="Separated by spaces.")
    pkce = forms.BooleanField(required=False, initial=True, label="Use PKCE (S256)")
    match_by = forms.ChoiceField(choices=MatchBy.choices, initial=MatchBy.EMAIL, label="Match people by")
    jit_provisioning = forms.BooleanField(
        required=False, label="Create a membership for unknown people at their first sign-in"
    )
    required = forms.BooleanField(
        required=False, label="Required: people of its domains may not use a password"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, editing: IdentityProvider | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing is not None:
            self.fields["kind"].disabled = True
            self.fields["client_secret"].help_text = (
                "A secret is stored. Leave blank to keep it; type a new one to replace it."
                if editing.client_secret
                else "No secret is stored yet."
            )

    def clean_scopes(self) -> list[str]:
        return self.cleaned_data["scopes"].split()


def identity_provider_initial(idp: IdentityProvider) -> dict:
    return {
        "kind": idp.kind,
        "name": idp.name,
        "issuer": idp.issuer if idp.kind == ProviderKind.OIDC else "",
        "org_domain": idp.org_domain,
        "aws_region": idp.aws_region,
        "user_pool_id": idp.user_pool_id,
        "client_id": idp.client_id,
        "scopes": idp.scopes,
        "pkce": idp.pkce,
        "match_by": idp.match_by,
        "jit_provisioning": idp.jit_provisioning,
        "required": idp.required,
        "is_active": idp.is_active,
    }


class DomainClaimForm(forms.Form):
    domain = forms.CharField(
        max_length=300, help_text="e.g. example.com: addresses @example.com sign in here."
    )


# --- Sign-in (allauth forms, set in ACCOUNT_FORMS) -----------------------------------------------


def required_provider_message(email: str | None) -> str | None:
    """When a `required` provider routes this address's domain: how to sign in instead.

    Says only what the domain's routing says (public to anyone who types an address there),
    never whether an account exists.
    """
    provider = identity_provider_for_email(email or "")
    if provider is None or not provider.required:
        return None
    return (
        f"Addresses at {email_domain(email)} sign in with {provider.name}. "
        "Enter your email on the sign-in page and choose Continue; passwords are not used here."
    )


class LoginForm(AllauthLoginForm):
    """allauth's login form; a password is never checked for an address a `required` provider routes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # allauth puts a "Forgot your password?" link in the password's help; the page has its own.
        self.fields["password"].help_text = ""

    def clean(self):
        if message := required_provider_message(self.data.get("login")):
            raise forms.ValidationError(message, code="federated_sign_in_required")
        return super().clean()


class ResetPasswordForm(AllauthResetPasswordForm):
    """allauth's reset form; addresses a `required` provider routes reset their password there."""

    def clean_email(self) -> str:
        if message := required_provider_message(self.data.get("email")):
            raise forms.ValidationError(message, code="federated_sign_in_required")
        email = super().clean_email()
        # Brute-force protection (accounts/services/lockout.py): every request counts, for any
        # address (the answer never says whether it has an account).
        request = allauth_context.request
        keys = {lockout.ACCOUNT: email, lockout.IP: client_ip(request) if request is not None else None}
        verdict = lockout.attempt_check(scope=lockout.PASSWORD_RESET, keys=keys)
        if not verdict.allowed:
            raise forms.ValidationError(lockout.refusal_message(verdict), code="too_many_failed_attempts")
        lockout.attempt_failed(scope=lockout.PASSWORD_RESET, keys=keys)
        return email


class EmailStepForm(forms.Form):
    """Step one of sign-in: only the address (same field name as allauth's login form)."""

    login = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
