"""The provider's closed vocabularies: the grant types it offers, the algorithms it signs with, the
ways clients authenticate and the algorithms it accepts from them.

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


class TokenEndpointAuthMethod(TextChoices):
    """How a client authenticates at the token, introspection and revocation endpoints (the
    names of RFC 7591 §2). The two secret methods are interchangeable: a secret client may send
    its secret either way. `private_key_jwt` is RFC 7523 (SMART Backend Services)."""

    CLIENT_SECRET_BASIC = "client_secret_basic", "Client secret (HTTP Basic)"
    CLIENT_SECRET_POST = "client_secret_post", "Client secret (in the request body)"
    PRIVATE_KEY_JWT = "private_key_jwt", "Signed JWT with the client's private key (private_key_jwt)"
    NONE = "none", "None (public client)"


# JWS algorithms a client may sign its private_key_jwt assertion with (never `none` or HS*).
ASSERTION_SIGNING_ALGORITHMS = ("RS256", "RS384", "ES256", "ES384")
