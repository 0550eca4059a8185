"""django-oauth-toolkit's default configuration, for comparison in bench/token_load.py.

Same project, same models, same database; only what DOT would do out of the box:
client secrets hashed with Django's default hasher (PBKDF2, ~1M iterations), random
opaque tokens, DOT's own validator and oauthlib's stock server.
"""

from identity.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
OAUTH2_PROVIDER = {"CLIENT_SECRET_HASHER": "default"}
