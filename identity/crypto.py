"""Encryption at rest for secrets the application must read back (email bodies, signing keys).

Fernet (AES-128-CBC + HMAC-SHA256) with keys derived from configured key material;
the first key encrypts, every key decrypts, so keys can be rotated.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.db import models


@lru_cache(maxsize=16)
def _fernet(purpose: str, keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"{purpose}:{key}".encode()).digest()))
            for key in keys
        ]
    )


def encrypt(text: str, *, purpose: str, keys: list[str]) -> str:
    return _fernet(purpose, tuple(keys)).encrypt(text.encode()).decode()


def decrypt(token: str, *, purpose: str, keys: list[str]) -> str:
    try:
        return _fernet(purpose, tuple(keys)).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("encrypted with a key that is no longer configured") from exc


class EncryptedTextField(models.TextField):
    """A TextField stored encrypted. `keys` is a callable returning the key material list."""

    def __init__(self, *args, purpose: str = "default", keys=None, **kwargs) -> None:
        self.purpose = purpose
        self.keys = keys
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["purpose"] = self.purpose
        return (
            name,
            "django.db.models.TextField",
            args,
            {k: v for k, v in kwargs.items() if k not in ("purpose", "keys")},
        )

    def _keys(self) -> list[str]:
        from django.conf import settings

        return (
            list(self.keys())
            if self.keys
            else [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        )

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return decrypt(value, purpose=self.purpose, keys=self._keys())
        except ValueError:
            return "[unreadable: encrypted with a key that is no longer configured]"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value, purpose=self.purpose, keys=self._keys()) if value else value
