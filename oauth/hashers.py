"""A hasher for high-entropy client secrets.

Client secrets are 128 random characters from a CSPRNG: nobody can guess them,
so a slow, memory-hard hash (Argon2, PBKDF2 at a million rounds) buys nothing but
costs ~0.3 s on *every* token request. A keyed SHA-256 (HMAC with a server-side
pepper, plus a per-secret salt) is what such secrets need: a stolen table cannot be
checked offline without the pepper, and verification takes microseconds.
User passwords never use this hasher (Argon2id stays first in PASSWORD_HASHERS).
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare


def _pepper() -> bytes:
    return (getattr(settings, "CLIENT_SECRET_PEPPER", "") or settings.SECRET_KEY).encode()


class KeyedSHA256SecretHasher(BasePasswordHasher):
    algorithm = "keyed_sha256"

    def encode(self, password: str, salt: str) -> str:
        self._check_encode_args(password, salt)
        digest = hmac.new(_pepper(), f"{salt}${password}".encode(), hashlib.sha256).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded: str) -> dict:
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "salt": mask_hash(decoded["salt"]),
            "hash": mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None
