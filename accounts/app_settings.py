"""Settings of the accounts app, read lazily so `override_settings` works in tests."""

from __future__ import annotations

from django.conf import settings


class AppSettings:
    def _setting(self, name: str, default):
        return getattr(settings, name, default)

    @property
    def SIGNUP_OPEN(self) -> bool:  # noqa: N802 - mirrors the setting name
        return bool(self._setting("SIGNUP_OPEN", False))

    @property
    def PORTAL_PAGE_SIZE(self) -> int:  # noqa: N802
        return int(self._setting("PORTAL_PAGE_SIZE", 25))

    @property
    def APP_BASE_URL(self) -> str:  # noqa: N802
        return str(self._setting("APP_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


app_settings = AppSettings()
