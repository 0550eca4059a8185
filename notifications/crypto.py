"""Message bodies carry set-password links, which are secrets: they are encrypted at rest."""

from __future__ import annotations

from identity.crypto import EncryptedTextField as _EncryptedTextField


class EncryptedTextField(_EncryptedTextField):
    """Encrypted under the `outbox` purpose with ENCRYPTION_KEYS (migrations refer to this path)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("purpose", "outbox")
        super().__init__(*args, **kwargs)
