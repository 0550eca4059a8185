"""Identity providers of a project and the email domains they claim (docs/FEDERATION.md).

An `IdentityProvider` is one upstream OpenID provider (Google, Okta, Auth0, Cognito or any
OpenID Connect issuer) a project's people may sign in with. A `DomainClaim` says "addresses at
this domain sign in through this provider"; it routes nothing until it is verified (DNS TXT
record or an operator), and a verified domain belongs to one provider in the whole deployment.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from identity.crypto import EncryptedTextField


class ProviderKind(models.TextChoices):
    GOOGLE = "google", "Google"
    OIDC = "oidc", "OpenID Connect"
    OKTA = "okta", "Okta"
    AUTH0 = "auth0", "Auth0"
    COGNITO = "cognito", "Amazon Cognito"


class MatchBy(models.TextChoices):
    EMAIL = "email", "Verified email address"
    SUBJECT = "subject", "Subject (external ID)"


class VerificationMethod(models.TextChoices):
    DNS = "dns", "DNS TXT record"
    OPERATOR = "operator", "Operator"


DEFAULT_SCOPES = "openid email profile"


def new_provider_id() -> str:
    """allauth's `SocialApp.provider_id` for this provider: the `<provider_id>` of its URLs."""
    return f"idp-{uuid.uuid4().hex[:12]}"


class IdentityProvider(models.Model):
    """One upstream OpenID provider of a project; written only by federation.services."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.CASCADE, related_name="identity_providers"
    )
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    name = models.CharField(max_length=120)
    # Stable, never reused: part of the callback URL registered at the provider.
    provider_id = models.CharField(max_length=40, unique=True, default=new_provider_id, editable=False)
    # What the issuer was derived from (presets); `issuer` is what is checked against discovery.
    # Validated by federation/urls_policy.py (stricter than URLField: https, no query or fragment).
    issuer = models.CharField(max_length=500)
    org_domain = models.CharField("Okta org / Auth0 tenant domain", max_length=255, blank=True)
    aws_region = models.CharField(max_length=32, blank=True)
    user_pool_id = models.CharField(max_length=64, blank=True)
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedTextField(purpose="idp-client-secret", blank=True)
    scopes = models.CharField(max_length=500, default=DEFAULT_SCOPES)
    pkce = models.BooleanField(default=True)
    match_by = models.CharField(max_length=16, choices=MatchBy.choices, default=MatchBy.EMAIL)
    jit_provisioning = models.BooleanField(default=False)
    required = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="federation_idp_name_unique_per_project")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def accepted_issuers(self) -> set[str]:
        """`iss` values its ID tokens may carry: Google also signs with the scheme-less form
        (https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken)."""
        if self.kind == ProviderKind.GOOGLE:
            return {self.issuer, self.issuer.removeprefix("https://")}
        return {self.issuer}

    @property
    def sign_in_method(self) -> str:
        """The project's `allowed_sign_in_methods` entry this provider counts as."""
        from accounts.models import SignInMethod

        return SignInMethod.GOOGLE if self.kind == ProviderKind.GOOGLE else SignInMethod.OIDC


class DomainClaim(models.Model):
    """A project's claim that addresses at `domain` sign in through `identity_provider`.

    `domain` is normalised (lowercase, IDNA/punycode, no trailing dot). Only a verified claim
    routes; a verified domain is unique in the whole deployment (database constraint).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("accounts.Project", on_delete=models.CASCADE, related_name="+")
    identity_provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253)
    token = models.CharField(max_length=64, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(max_length=16, choices=VerificationMethod.choices, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            # The rule that keeps one tenant from routing another's users: one verified owner.
            models.UniqueConstraint(
                fields=["domain"],
                condition=Q(verified_at__isnull=False),
                name="federation_domain_verified_once",
            ),
            models.UniqueConstraint(fields=["project", "domain"], name="federation_domain_once_per_project"),
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def txt_record(self) -> str:
        return f"{TXT_PREFIX}{self.token}"


TXT_PREFIX = "identity-portal-verification="
