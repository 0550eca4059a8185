"""Encryption at rest for message bodies: they carry set-password links, which are secrets."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.db import models

from notifications.app_settings import app_settings


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"outbox:{key}".encode()).digest())) for key in keys]
    )


def encrypt(text: str) -> str:
    return _fernet(tuple(app_settings.ENCRYPTION_KEYS)).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(app_settings.ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken:
        return "[unreadable: encrypted with a key that is no longer configured]"


class EncryptedTextField(models.TextField):
    """A TextField stored Fernet-encrypted; reads give back the plain text."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
