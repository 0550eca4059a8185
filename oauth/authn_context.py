"""How the signed-in user authenticated, in the words of tokens: `amr` (RFC 8176), `acr`, and
whether a request for a level of assurance (`acr_values`, RFC 9470 style step-up) is met.

The facts come from allauth's authentication records of the session (one per way the user
proved themselves: password, upstream provider, second factor, reauthentication).
"""

from __future__ import annotations

from django.db import models


class Acr(models.TextChoices):
    """The authentication context classes this server issues and understands."""

    # One factor: a password, an upstream provider, or an email code.
    SINGLE_FACTOR = "urn:identity-portal:acr:1fa", "One factor"
    # Two factors: a password or upstream provider plus an authenticator app or passkey, or a
    # passkey that verified the user. The URI relying parties already send for MFA (OpenID PAPE).
    MULTI_FACTOR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor", "Two factors"


# Values a client may send in `acr_values` meaning "two factors, please" (RFC 8176's `mfa` too).
MULTI_FACTOR_REQUESTS = frozenset({Acr.MULTI_FACTOR.value, "mfa"})

# allauth's record method (and, for `mfa`, the authenticator type) -> amr value.
_AMR_OF_METHOD = {"password": "pwd", "socialaccount": "fed", "code": "otp"}
_AMR_OF_FACTOR = {"totp": "otp", "recovery_codes": "otp", "webauthn": "hwk"}


def amr_of_records(records: list[dict]) -> list[str]:
    """The `amr` of a session's authentication records, in the order they happened; `mfa` is
    added when two factors were used: a first one (password, provider, code) and a second
    (authenticator app, recovery code, passkey), or a passkey sign-in (user verification is
    required, so the device checked a PIN or biometric)."""
    amr: list[str] = []
    first_factor = second_factor = False
    for record in records:
        method = str(record.get("method"))
        if method == "mfa":
            value = _AMR_OF_FACTOR.get(str(record.get("type")))
            second_factor = True
            if record.get("passwordless"):
                first_factor = True
        else:
            value = _AMR_OF_METHOD.get(method)
            first_factor = first_factor or value is not None
        if value and value not in amr:
            amr.append(value)
    if first_factor and second_factor:
        amr.append("mfa")
    return amr


def acr_of(amr: list[str]) -> str:
    """The `acr` of a session (or a grant) that authenticated with `amr`."""
    return Acr.MULTI_FACTOR.value if "mfa" in amr else Acr.SINGLE_FACTOR.value


def acr_values_want_mfa(acr_values: str) -> bool:
    """Does a client's `acr_values` (space-separated, in order of preference) ask for two
    factors? A list that also accepts one factor does not: the session's level is fine then."""
    requested = (acr_values or "").split()
    return bool(requested) and all(value in MULTI_FACTOR_REQUESTS for value in requested)
