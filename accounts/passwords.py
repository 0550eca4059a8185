"""Password rules beyond Django's validators, and the strength feedback of set-password pages.

- `BreachedPasswordValidator` refuses a password found in a list of breached passwords that ships
  with the project (`accounts/data/breached-passwords.txt.gz`, provenance in
  `accounts/data/README.md`); no network at run time. The list is read once per process.
- `password_strength` estimates how hard a password is to guess (zxcvbn) and says why in plain
  words; `PasswordStrengthFormMixin` gives every set-password form a "Check strength" button that
  works without JavaScript: the page is rendered again with the meter and the hints, nothing saved.

Which validators run, and the minimum length (`PASSWORD_MIN_LENGTH`), are in
`AUTH_PASSWORD_VALIDATORS` (identity/settings.py); docs/SECURITY.md, "Passwords".
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.contrib.auth.password_validation import get_default_password_validators
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

BREACHED_PASSWORDS_PATH = Path(__file__).resolve().parent / "data" / "breached-passwords.txt.gz"

# The name of the submit button that asks for feedback instead of saving.
CHECK_STRENGTH = "check_strength"


@lru_cache(maxsize=4)
def breached_passwords(path: str) -> frozenset[str]:
    """The list (one lower-case password a line), read once per process and path."""
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return frozenset(line.strip() for line in stream if line.strip())


def password_is_breached(password: str, *, path: str | Path = BREACHED_PASSWORDS_PATH) -> bool:
    """Compared case-insensitively, like Django's CommonPasswordValidator."""
    return password.strip().lower() in breached_passwords(str(path))


class BreachedPasswordValidator:
    """A Django password validator: refuses passwords that appear in published breaches."""

    def __init__(self, password_list_path: str | Path = BREACHED_PASSWORDS_PATH) -> None:
        self.password_list_path = str(password_list_path)

    def validate(self, password: str, user: Any = None) -> None:
        if password_is_breached(password, path=self.password_list_path):
            raise ValidationError(
                _(
                    "This password appears in lists of passwords leaked in data breaches, so attackers "
                    "try it first. Choose another one."
                ),
                code="password_breached",
            )

    def get_help_text(self) -> str:
        return _("Your password can't be one that appears in known data breaches.")


# --- Strength feedback ------------------------------------------------------------------------

LABELS = (
    gettext_lazy("Very weak"),
    gettext_lazy("Weak"),
    gettext_lazy("Fair"),
    gettext_lazy("Strong"),
    gettext_lazy("Very strong"),
)
MAX_SCORE = len(LABELS) - 1
# zxcvbn's work grows with length; beyond this, only the first characters are estimated.
ESTIMATE_MAX_LENGTH = 100


@dataclass(frozen=True)
class Strength:
    score: int  # 0 (very weak) .. 4 (very strong)
    label: str
    hints: list[str] = field(default_factory=list)
    crack_time: str = ""  # how long an offline attacker with a slow hash would need, in words

    @property
    def max_score(self) -> int:
        return MAX_SCORE


def password_strength(password: str, *, user: Any = None, user_inputs: list[str] | None = None) -> Strength:
    """How guessable `password` is and what would make it stronger, in plain words.

    A password the validators refuse is never rated above "Weak"; their reasons are the form's
    field errors, so they are not repeated among the hints.
    """
    from zxcvbn import zxcvbn

    inputs = [value for value in (user_inputs or []) if value]
    if user is not None:
        email = getattr(user, "email", "") or ""
        inputs += [email, *email.split("@")] if email else []
    result = zxcvbn(password[:ESTIMATE_MAX_LENGTH], user_inputs=inputs)
    score = int(result["score"])
    if password_is_refused(password, user=user):
        score = min(score, 1)
    hints: list[str] = []
    feedback = result.get("feedback") or {}
    if feedback.get("warning"):
        hints.append(str(feedback["warning"]))
    hints.extend(str(suggestion) for suggestion in feedback.get("suggestions") or [])
    if not hints and score < 3:
        hints.append(_("Add another word or two. A longer phrase is stronger and easy to remember."))
    return Strength(
        score=score,
        label=str(LABELS[score]),
        hints=list(dict.fromkeys(hints)),  # without repeats, in order
        crack_time=str(result["crack_times_display"]["offline_slow_hashing_1e4_per_second"]),
    )


def password_is_refused(password: str, *, user: Any = None) -> bool:
    for validator in get_default_password_validators():
        try:
            validator.validate(password, user)
        except ValidationError:
            return True
    return False


class PasswordStrengthFormMixin:
    """For forms that set a new password: a "Check strength" submit and the meter's data.

    `password_field` names the new password's field. When the form was submitted with the
    `check_strength` button it validates as usual (errors shown next to the fields) but is never
    valid, so the view renders it again instead of saving; `password_strength` then describes the
    submitted password. Templates: `partials/password_strength.html`.
    """

    password_field = "password1"
    confirm_field = "password2"

    @property
    def checking_strength(self) -> bool:
        data = getattr(self, "data", None) or {}
        return bool(getattr(self, "is_bound", False)) and CHECK_STRENGTH in data

    def is_valid(self) -> bool:
        valid = super().is_valid()  # type: ignore[misc]
        return valid and not self.checking_strength

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        if self.checking_strength:  # only the new password is being tried: no "type it again"
            errors = getattr(self, "_errors", None)
            if errors is not None:
                errors.pop(self.confirm_field, None)

    @property
    def password_strength(self) -> Strength | None:
        if not getattr(self, "is_bound", False):
            return None
        password = (getattr(self, "data", None) or {}).get(self.add_prefix(self.password_field)) or ""  # type: ignore[attr-defined]
        if not password:
            return None
        cached = getattr(self, "_password_strength", None)
        if cached is None:
            cached = password_strength(
                password, user=self.password_user(), user_inputs=self.password_user_inputs()
            )
            self._password_strength = cached
        return cached

    def password_user(self) -> Any:
        """The account the password is for (attribute-similarity checks), if the form knows it."""
        return getattr(self, "user", None)

    def password_user_inputs(self) -> list[str]:
        """Other submitted words a password should not be built from (sign-up: the address)."""
        email = (getattr(self, "data", None) or {}).get(self.add_prefix("email")) or ""  # type: ignore[attr-defined]
        return [email, *email.split("@")] if email else []
