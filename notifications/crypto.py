"""Message bodies carry set-password links, which are secrets: they are encrypted at rest."""

from __future__ import annotations

from identity.crypto import EncryptedTextField as _EncryptedTextField
from notifications.app_settings import app_settings


def _outbox_keys() -> list[str]:
    return app_settings.ENCRYPTION_KEYS


class EncryptedTextField(_EncryptedTextField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("purpose", "outbox")
        kwargs.setdefault("keys", _outbox_keys)
        super().__init__(*args, **kwargs)
