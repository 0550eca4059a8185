"""Production settings for bench/token_load.py's server, with one change: allauth's per-IP rate limit
of sign-ins ("login": 30 a minute per address) is off, because every request of the load generator
comes from 127.0.0.1. Failed sign-ins keep their limits and the lockout (accounts/services/lockout.py)
is unchanged; the benchmark signs in with the right password only.
"""

from identity.settings import *  # noqa: F403

ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS, "login": None}  # noqa: F405
