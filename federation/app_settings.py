"""Settings of the federation app, read lazily (so `override_settings` works) with safe defaults."""

from __future__ import annotations

from django.conf import settings


class AppSettings:
    def _setting(self, name: str, default):
        return getattr(settings, f"FEDERATION_{name}", default)

    @property
    def BASE_URL(self) -> str:
        """Where this deployment is reached: callback URLs are built on it."""
        return str(settings.APP_BASE_URL).rstrip("/")

    @property
    def ALLOW_HTTP_ISSUERS(self) -> bool:
        """Allow http://127.0.0.1 / localhost issuers (tests, local providers); always on with DEBUG."""
        return bool(self._setting("ALLOW_HTTP_ISSUERS", False) or settings.DEBUG)

    @property
    def HTTP_TIMEOUT_SECONDS(self) -> float:
        """Per request of a connection test (discovery, then JWKS)."""
        return float(self._setting("HTTP_TIMEOUT_SECONDS", 5))

    @property
    def DNS_RESOLVER_FACTORY(self) -> str:
        """Dotted path of a callable returning an object with dnspython's `resolve(name, "TXT")`."""
        return str(self._setting("DNS_RESOLVER_FACTORY", "federation.dns.default_resolver"))

    @property
    def DNS_TIMEOUT_SECONDS(self) -> float:
        return float(self._setting("DNS_TIMEOUT_SECONDS", 5))

    @property
    def METADATA_CACHE_SECONDS(self) -> int:
        """How long an upstream discovery document and JWKS are cached."""
        return int(self._setting("METADATA_CACHE_SECONDS", 3600))

    @property
    def JWKS_REFETCH_COOLDOWN(self) -> int:
        """At most one JWKS refetch for an unknown `kid` per this many seconds per provider."""
        return int(self._setting("JWKS_REFETCH_COOLDOWN", 30))

    @property
    def CLOCK_SKEW_SECONDS(self) -> int:
        """Leeway for an upstream ID token's `exp` and `iat`."""
        return int(self._setting("CLOCK_SKEW_SECONDS", 60))


app_settings = AppSettings()
