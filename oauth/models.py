"""django-oauth-toolkit's swappable models, owned by this app from the first migration.

Swapping a DOT model after tables exist is expensive, so every one of them is
ours now (settings.OAUTH2_PROVIDER_*_MODEL). The extra fields are what the
provider needs beyond DOT: the owning project, per-client policy (grants,
scopes, lifetimes, role for automation), secret rotation, and the links that
let a replayed authorization code revoke what it produced.
"""

from __future__ import annotations

from django.db import models
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractApplication,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
)


class GrantType(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code (+ PKCE)"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    REFRESH_TOKEN = "refresh_token", "Refresh token"


class ClientRole(models.TextChoices):
    NONE = "", "No portal API access"
    MEMBER = "member", "Member"
    ADMIN = "admin", "Admin"


class Client(AbstractApplication):
    """An OAuth 2.0 client (DOT's Application), always inside one project."""

    project = models.ForeignKey("accounts.Project", on_delete=models.CASCADE, related_name="clients")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    allowed_grant_types = models.JSONField(default=list, blank=True)
    allowed_scopes = models.TextField(blank=True, help_text="Space-separated scopes this client may request.")
    access_token_lifetime = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    refresh_token_lifetime = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds, absolute.")
    refresh_token_idle_lifetime = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    role = models.CharField(max_length=16, choices=ClientRole.choices, blank=True, default="")
    access_policy = models.ForeignKey(
        "accounts.AccessPolicy", null=True, blank=True, on_delete=models.PROTECT, related_name="clients"
    )
    # During rotation the previous secret (hashed) stays valid until this moment.
    retiring_client_secret = models.CharField(max_length=255, blank=True)
    retiring_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.client_id


class Grant(AbstractGrant):
    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class AccessToken(AbstractAccessToken):
    jti = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # SHA-256 of the authorization code this token came from: a replayed code revokes it.
    authorization_code_checksum = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta(AbstractAccessToken.Meta):
        swappable = "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL"


class RefreshToken(AbstractRefreshToken):
    authorization_code_checksum = models.CharField(max_length=64, blank=True, db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"


class IDToken(AbstractIDToken):
    sid = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta(AbstractIDToken.Meta):
        swappable = "OAUTH2_PROVIDER_ID_TOKEN_MODEL"
