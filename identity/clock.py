"""The one source of "now" for expiry decisions, so tests can move time instead of sleeping.

Code calls `clock.now()`; tests use the `clock` fixture (tests/conftest.py) to set or advance it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone


class Clock:
    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        return self._frozen or timezone.now()

    # Test helpers ------------------------------------------------------------
    def freeze(self, at: datetime | None = None) -> datetime:
        self._frozen = at or timezone.now()
        return self._frozen

    def advance(self, delta: timedelta) -> datetime:
        self._frozen = self.now() + delta
        return self._frozen

    def reset(self) -> None:
        self._frozen = None


clock = Clock()


def now() -> datetime:
    """`clock.now()` as a plain function, for model field defaults (migrations need a dotted path)."""
    return clock.now()
