"""Settings of the OAuth provider, read lazily with safe defaults."""

from __future__ import annotations

from django.conf import settings


class AppSettings:
    def _setting(self, name: str, default):
        return getattr(settings, f"OAUTH_{name}", default)

    @property
    def ISSUER(self) -> str:
        return str(getattr(settings, "ISSUER_URL", "") or settings.APP_BASE_URL).rstrip("/")

    @property
    def ACCESS_TOKEN_LIFETIME(self) -> int:
        return int(self._setting("ACCESS_TOKEN_LIFETIME", 3600))

    @property
    def REFRESH_TOKEN_LIFETIME(self) -> int:
        """Absolute lifetime of a refresh-token family (seconds)."""
        return int(self._setting("REFRESH_TOKEN_LIFETIME", 30 * 24 * 3600))

    @property
    def REFRESH_TOKEN_IDLE_LIFETIME(self) -> int:
        """A refresh token unused this long expires (seconds)."""
        return int(self._setting("REFRESH_TOKEN_IDLE_LIFETIME", 14 * 24 * 3600))

    @property
    def REFRESH_GRACE_SECONDS(self) -> int:
        """Leeway for two concurrent refreshes of one token (see Validator._concurrent_refresh)."""
        return int(self._setting("REFRESH_GRACE_SECONDS", 5))

    @property
    def SECRET_ROTATION_GRACE(self) -> int:
        """How long a rotated-out client secret keeps working (seconds)."""
        return int(self._setting("SECRET_ROTATION_GRACE", 24 * 3600))

    @property
    def KEY_CACHE_SECONDS(self) -> int:
        """How long a process trusts its parsed signing keys before re-reading the key table."""
        return int(self._setting("KEY_CACHE_SECONDS", 60))

    @property
    def CLIENT_CACHE_SECONDS(self) -> int:
        return int(self._setting("CLIENT_CACHE_SECONDS", 5))

    @property
    def CLIENT_JWKS_CACHE_SECONDS(self) -> int:
        """How long a private_key_jwt client's JWKS fetched from its `jwks_uri` is trusted."""
        return int(self._setting("CLIENT_JWKS_CACHE_SECONDS", 300))

    @property
    def CLIENT_JWKS_REFETCH_COOLDOWN(self) -> int:
        """At most one early refetch of a `jwks_uri` (for an unknown `kid`) per this many seconds."""
        return int(self._setting("CLIENT_JWKS_REFETCH_COOLDOWN", 60))

    @property
    def CLIENT_JWKS_TIMEOUT(self) -> float:
        """Seconds to connect to, and to read, a client's `jwks_uri`."""
        return float(self._setting("CLIENT_JWKS_TIMEOUT", 5))

    @property
    def CLIENT_JWKS_ALLOW_HTTP_LOOPBACK(self) -> bool:
        """Plain http `jwks_uri`s on 127.0.0.1 / localhost (development and tests); also under DEBUG."""
        return bool(self._setting("CLIENT_JWKS_ALLOW_HTTP_LOOPBACK", False) or settings.DEBUG)

    @property
    def BACKCHANNEL_LOGOUT_ALLOW_HTTP_LOOPBACK(self) -> bool:
        """Plain http `backchannel_logout_uri`s on 127.0.0.1 / localhost (development and tests);
        also under DEBUG."""
        return bool(self._setting("BACKCHANNEL_LOGOUT_ALLOW_HTTP_LOOPBACK", False) or settings.DEBUG)

    @property
    def SIGNING_KEY_PEM(self) -> str:
        """An RS256 private key (PEM) from the environment; otherwise keys live in the database."""
        return str(getattr(settings, "OIDC_SIGNING_KEY", "") or "")


app_settings = AppSettings()
