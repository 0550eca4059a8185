"""Settings of the notifications app (outbox), read lazily with defaults."""

from __future__ import annotations

from django.conf import settings


class AppSettings:
    def _setting(self, name: str, default):
        return getattr(settings, f"OUTBOX_{name}", default)

    @property
    def MAX_ATTEMPTS(self) -> int:  # noqa: N802
        """Attempts before a message is `dead` (visible in the outbox, never dropped)."""
        return int(self._setting("MAX_ATTEMPTS", 6))

    @property
    def BACKOFF_BASE_SECONDS(self) -> float:  # noqa: N802
        return float(self._setting("BACKOFF_BASE_SECONDS", 10))

    @property
    def BACKOFF_MAX_SECONDS(self) -> float:  # noqa: N802
        # Kept well below Redis' visibility timeout (1 h) so countdowns never outlive it.
        return float(self._setting("BACKOFF_MAX_SECONDS", 600))

    @property
    def SENDING_TIMEOUT_SECONDS(self) -> int:  # noqa: N802
        """A message `sending` for longer than this is assumed abandoned (worker killed) and re-queued."""
        return int(self._setting("SENDING_TIMEOUT_SECONDS", 300))

    @property
    def PUBLISH_COOLDOWN_SECONDS(self) -> float:  # noqa: N802
        """After the broker refused a publish, requests skip publishing this long (the relay catches up)."""
        return float(self._setting("PUBLISH_COOLDOWN_SECONDS", 10))

    @property
    def RELAY_BATCH_SIZE(self) -> int:  # noqa: N802
        return int(self._setting("RELAY_BATCH_SIZE", 500))

    @property
    def PREVIEW_ENABLED(self) -> bool:  # noqa: N802
        """Whether admins may open a rendered message in the outbox (development convenience)."""
        return bool(self._setting("PREVIEW_ENABLED", settings.DEBUG))


app_settings = AppSettings()
