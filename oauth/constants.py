"""The provider's closed vocabularies: the grant types it offers and the algorithms it signs with.

Each list exists here only; models, forms, the API, discovery, the token endpoint, the
oauthlib server and DOT's settings all read it. The module imports nothing of ours and
no models (only Django's enum types), so identity/settings.py can import it while
settings load, before the app registry exists.
"""

from __future__ import annotations

from django.db.models import TextChoices


class GrantType(TextChoices):
    """The grants the token endpoint serves (oauth/server.py routes exactly these)."""

    AUTHORIZATION_CODE = "authorization_code", "Authorization code (+ PKCE)"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    REFRESH_TOKEN = "refresh_token", "Refresh token"


class SigningAlgorithm(TextChoices):
    """JWS algorithms of our signing keys: one active key each (oauth/keys.py)."""

    RS256 = "RS256", "RS256"
    ES256 = "ES256", "ES256"
