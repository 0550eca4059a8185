"""django-oauth-toolkit's swappable models, owned by this app from the first migration.

Swapping a DOT model after tables exist is expensive, so every one of them is
ours now (settings.OAUTH2_PROVIDER_*_MODEL). The extra fields are what the
provider needs beyond DOT: the owning project, per-client policy (grants,
scopes, lifetimes, role for automation), secret rotation, and the links that
let a replayed authorization code revoke what it produced.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Lower
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractApplication,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
)

from identity.crypto import EncryptedTextField
from notifications.delivery.kinds import Deliverable, DeliveryStatus
from oauth.constants import GrantType as GrantType  # defined once there; importable from here too
from oauth.constants import SigningAlgorithm, TokenEndpointAuthMethod


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
    refresh_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds, absolute."
    )
    refresh_token_idle_lifetime = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    role = models.CharField(max_length=16, choices=ClientRole.choices, blank=True, default="")
    access_policy = models.ForeignKey(
        "accounts.AccessPolicy", null=True, blank=True, on_delete=models.PROTECT, related_name="clients"
    )
    # During rotation the previous secret (hashed) stays valid until this moment.
    retiring_client_secret = models.CharField(max_length=255, blank=True)
    retiring_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    ALGORITHM_CHOICES = (("", "No OIDC support"), *SigningAlgorithm.choices)
    algorithm = models.CharField(max_length=5, choices=ALGORITHM_CHOICES, default="RS256", blank=True)
    # What the client's JWT access tokens are signed with (oauth.tokens.generate_access_token), for
    # the resource servers that verify them against our JWKS: RS256 by default (every JOSE library
    # verifies it), ES256 for those that accept it: a P-256 signature costs about a tenth of an RSA
    # 2048 one, the largest single cost of a client-credentials grant (docs/OAUTH.md, performance).
    access_token_algorithm: models.CharField[str, str] = models.CharField(
        max_length=8, choices=SigningAlgorithm.choices, default=SigningAlgorithm.RS256
    )

    # How the client authenticates (oauth/client_auth.py). oauth.services sets it: none for public
    # clients, a secret method or private_key_jwt (RFC 7523) for confidential ones. A
    # private_key_jwt client has no usable secret and exactly one of `jwks_uri` / `jwks`: the
    # public keys its assertions are verified with.
    token_endpoint_auth_method: models.CharField[str, str] = models.CharField(
        max_length=32,
        choices=TokenEndpointAuthMethod.choices,
        default=TokenEndpointAuthMethod.CLIENT_SECRET_BASIC,
    )
    jwks_uri: models.URLField[str, str] = models.URLField(max_length=2000, blank=True)
    jwks = models.JSONField(default=dict, blank=True)
    # Logout (OpenID RP-Initiated and Back-Channel Logout 1.0). `post_logout_redirect_uris` is DOT's.
    backchannel_logout_uri: models.URLField[str, str] = models.URLField(max_length=2000, blank=True)
    backchannel_logout_session_required: models.BooleanField[bool, bool] = models.BooleanField(default=True)
    # When a browser session ends, revoke the tokens this client got in it.
    revoke_tokens_on_logout: models.BooleanField[bool, bool] = models.BooleanField(default=True)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        ordering = ["name"]
        constraints = [
            # oauth.services refuses a duplicate name with a field error first; this is the backstop
            # for two requests at once.
            models.UniqueConstraint("project", Lower("name"), name="oauth_client_name_unique_per_project"),
        ]

    def __str__(self) -> str:
        return self.name or self.client_id

    def is_usable(self, request) -> bool:
        """DOT's hook, asked at issuance and at every bearer check: disabled clients stop at once."""
        return self.is_active

    @property
    def jwk_key(self):
        """The key DOT signs this client's ID tokens with: our active key of the client's algorithm."""
        from oauth.keys import signing_key_active

        return signing_key_active(self.algorithm or "RS256").jwk

    def allows_grant_type(self, *grant_types) -> bool:
        """DOT's model hook (its validator asks it), answered from `allowed_grant_types`.

        Not dead code, though nothing reaches it today: our Validator decides grant and response
        types itself. It stays so that DOT's default, which reads only the primary
        `authorization_grant_type`, never answers for a client with several grants.
        """
        return bool(set(self.allowed_grant_types) & {g.replace("-", "_") for g in grant_types})

    @property
    def uses_private_key_jwt(self) -> bool:
        return self.token_endpoint_auth_method == TokenEndpointAuthMethod.PRIVATE_KEY_JWT

    @property
    def allowed_scope_set(self) -> set[str]:
        return set(self.allowed_scopes.split())


class Grant(AbstractGrant):
    # The OP session the code was issued in (a hash of it): becomes the ID token's `sid`.
    sid = models.CharField(max_length=64, blank=True)
    # When the user last proved who they are (sign-in or re-authentication): the ID token's auth_time.
    auth_time = models.DateTimeField(null=True, blank=True)
    # How they authenticated (the ID token's `amr`) and, after a federated sign-in, the
    # upstream provider's issuer (`idp`).
    amr = models.JSONField(default=list, blank=True)
    # SMART launch context the code was issued with: {"patient", "encounter", "need_patient_banner"}.
    launch_context = models.JSONField(default=dict, blank=True)
    idp: models.CharField[str, str] = models.CharField(max_length=500, blank=True)

    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class AccessToken(AbstractAccessToken):
    jti = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # SHA-256 of the authorization code this token came from: a replayed code revokes it.
    authorization_code_checksum = models.CharField(max_length=64, blank=True, db_index=True)
    # SMART launch context ({"patient", "encounter"}) for introspection; {} for none.
    launch_context = models.JSONField(default=dict, blank=True)
    # The browser session (its `sid`) the token was issued in; "" for client credentials.
    sid: models.CharField[str, str] = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta(AbstractAccessToken.Meta):
        swappable = "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL"


class RefreshToken(AbstractRefreshToken):
    authorization_code_checksum = models.CharField(max_length=64, blank=True, db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Carried to every access token refreshed from it.
    launch_context = models.JSONField(default=dict, blank=True)
    # The browser session (its `sid`) the family began in: ending the session revokes it.
    sid: models.CharField[str, str] = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta(AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"


class IDToken(AbstractIDToken):
    sid = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta(AbstractIDToken.Meta):
        swappable = "OAUTH2_PROVIDER_ID_TOKEN_MODEL"


class SigningKeyStatus(models.TextChoices):
    NEXT = "next", "Published, not yet signing"
    ACTIVE = "active", "Signing"
    RETIRING = "retiring", "Verifying only (until its tokens expire)"
    RETIRED = "retired", "Retired"


class SigningKey(models.Model):
    """A key that signs ID tokens and JWT access tokens. Private halves are encrypted at rest."""

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=8, choices=SigningAlgorithm.choices)
    # Encrypted with ENCRYPTION_KEYS (identity/crypto.py), never with SECRET_KEY alone.
    private_pem = EncryptedTextField(purpose="oidc-signing-key")
    status = models.CharField(
        max_length=16, choices=SigningKeyStatus.choices, default=SigningKeyStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retiring_at = models.DateTimeField(null=True, blank=True)
    # After this moment no token signed by the key can still be valid; it leaves the JWKS.
    retire_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.kid} ({self.status})"


class Consent(models.Model):
    """A user's remembered approval of a client for a set of scopes."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="oauth_consents")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    scopes = models.TextField()
    granted_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="consent_user_client_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.client}: {self.scopes}"

    def covers(self, scopes: list[str]) -> bool:
        return set(scopes) <= set(self.scopes.split())


class LaunchContext(models.Model):
    """An EHR launch (SMART App Launch): the patient / encounter an EHR session is about,
    registered by the project's resource server and handed to the app as an opaque `launch`.

    Only a hash of the `launch` value is stored; it is single-use and short-lived.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("accounts.Project", on_delete=models.CASCADE, related_name="+")
    launch_checksum = models.CharField(max_length=64, unique=True)
    patient = models.CharField(max_length=64, blank=True)
    encounter = models.CharField(max_length=64, blank=True)
    created_by = models.CharField(max_length=255, blank=True)  # the actor's label
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"launch {self.pk} (patient {self.patient or '-'})"


class LogoutNotice(Deliverable):
    """A back-channel logout token owed to a client (OpenID Back-Channel Logout 1.0), sent by the
    delivery engine (notifications.delivery): retried with backoff, visible when it fails."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="logout_notices")
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sid = models.CharField(max_length=64, blank=True)
    # The URI at the time the session ended (a later change of the client does not redirect it).
    uri = models.URLField(max_length=2000)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"logout of {self.sid or self.user_id} to {self.client} ({self.status})"
