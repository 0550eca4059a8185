"""Key management: encryption at rest and keyed hashes that survive a key rotation.

Two families of keys, both rotatable without downtime:

* **Encryption keys** (`ENCRYPTION_KEYS`, comma-separated) protect secrets the application
  must read back (signing keys, outbox bodies and, later, webhook secrets). The first key
  encrypts; every key decrypts. Rows written before `ENCRYPTION_KEYS` existed were encrypted
  with `SECRET_KEY` (and its fallbacks), so those stay in the *decryption* list until
  `manage.py rotate_encryption_key` has re-encrypted every row under the first key.
* **Signing secrets** (`SECRET_KEY` + Django's `SECRET_KEY_FALLBACKS`) key the HMACs of
  set-password links. A hash is always written with `SECRET_KEY` and verified against every
  signing secret, so rotating `SECRET_KEY` (old one moved to the fallbacks) keeps links alive.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived per *purpose*: the same configured key
never encrypts two kinds of data under one derived key.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.utils.crypto import constant_time_compare, salted_hmac

UNREADABLE = "[unreadable: encrypted with a key that is no longer configured]"


class UndecryptableError(ValueError):
    """Stored ciphertext that none of the configured keys can open."""


def signing_secrets() -> list[str]:
    """`SECRET_KEY` first (writes), then `SECRET_KEY_FALLBACKS` (verification only)."""
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def configured_encryption_keys() -> list[str]:
    """`ENCRYPTION_KEYS` as configured (may be empty in development)."""
    return [key for key in getattr(settings, "ENCRYPTION_KEYS", []) if key]


def encryption_keys() -> list[str]:
    """Key material in order: the first encrypts, all decrypt.

    Without `ENCRYPTION_KEYS` (development), `SECRET_KEY` encrypts. With it, the signing
    secrets still decrypt rows written before it was set, until they are re-encrypted.
    """
    explicit = configured_encryption_keys()
    legacy = [key for key in signing_secrets() if key not in explicit]
    return [*explicit, *legacy]


@lru_cache(maxsize=64)
def _fernet(purpose: str, key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"{purpose}:{key}".encode()).digest()))


def _multi(purpose: str, keys: Iterable[str]) -> MultiFernet:
    return MultiFernet([_fernet(purpose, key) for key in keys])


def encrypt(text: str, *, purpose: str, keys: list[str] | None = None) -> str:
    return _multi(purpose, keys or encryption_keys()).encrypt(text.encode()).decode()


def decrypt(token: str, *, purpose: str, keys: list[str] | None = None) -> str:
    try:
        return _multi(purpose, keys or encryption_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UndecryptableError("encrypted with a key that is no longer configured") from exc


def needs_reencryption(token: str, *, purpose: str) -> bool:
    """True when `token` is not encrypted under the current first key (or cannot be read at all)."""
    try:
        _fernet(purpose, encryption_keys()[0]).decrypt(token.encode())
    except InvalidToken:
        return True
    return False


def reencrypt(token: str, *, purpose: str) -> str:
    """Re-encrypt under the first key; raises UndecryptableError when no configured key opens it."""
    try:
        return _multi(purpose, encryption_keys()).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise UndecryptableError("encrypted with a key that is no longer configured") from exc


def keyed_hash(*, salt: str, value: str) -> str:
    """HMAC-SHA256 of `value` under `SECRET_KEY` (hex), for values we store only hashed."""
    return salted_hmac(salt, value, algorithm="sha256").hexdigest()


def keyed_hash_matches(*, salt: str, value: str, expected: str) -> bool:
    """Constant-time check of `expected` against the hash under `SECRET_KEY` or any fallback."""
    matched = False
    for secret in signing_secrets():  # no early exit: the time does not say which key matched
        candidate = salted_hmac(salt, value, secret=secret, algorithm="sha256").hexdigest()
        matched |= constant_time_compare(expected, candidate)
    return matched


class EncryptedTextField(models.TextField):
    """A TextField stored encrypted under `purpose` with the configured encryption keys.

    Reading a value no configured key can open yields `UNREADABLE` (pages keep working and
    say so); code that must not go on with such a value checks `is_unreadable()`.
    `keys` (a callable returning key material) exists for tests; production uses
    `encryption_keys()`.
    """

    def __init__(
        self, *args, purpose: str = "default", keys: Callable[[], list[str]] | None = None, **kwargs
    ) -> None:
        self.purpose = purpose
        self.keys = keys
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        # Migrations see a plain TextField: the ciphertext is text, and key material never
        # belongs in a migration file.
        return name, "django.db.models.TextField", args, kwargs

    def _keys(self) -> list[str]:
        return list(self.keys()) if self.keys else encryption_keys()

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return decrypt(value, purpose=self.purpose, keys=self._keys())
        except UndecryptableError:
            return UNREADABLE

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value, purpose=self.purpose, keys=self._keys()) if value else value


def is_unreadable(value: str | None) -> bool:
    return value == UNREADABLE


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every encrypted column of every installed model (for re-encryption and checks)."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        if not model._meta.abstract and not model._meta.proxy
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]
