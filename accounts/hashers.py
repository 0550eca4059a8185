"""The password hasher: Argon2id at OWASP's recommended minimum (m = 19 MiB, t = 2, p = 1).

Django's own Argon2 hasher uses m = 100 MiB, p = 8: about a quarter of a CPU-second per sign-in,
so a two-core node signs in fewer than ten people a second and a burst of sign-ins (a clinic
opening at 8 am, a credential-stuffing wave held off by the lockout) queues every other request
behind it. OWASP's Password Storage Cheat Sheet gives m = 19 MiB, t = 2, p = 1 as the Argon2id
minimum; that costs ~25 ms of CPU. tests/identity/test_settings.py keeps the first hasher at or
above that minimum.

The algorithm name stays Django's `argon2`, so hashes made with the old parameters still verify;
Django re-hashes such a password with these parameters at its owner's next sign-in (must_update).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
