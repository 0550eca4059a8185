from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction

from accounts.models import User, normalize_email


@transaction.atomic
def user_get_or_create(
    *,
    email: str | None,
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
    email_verified: bool = False,
) -> tuple[User, bool]:
    """Find a user by email (case-insensitively) or create one.

    A new user without `password` gets an unusable password: it is set later
    through a set-password link, never left blank. allauth's EmailAddress row is
    kept in step so that sign-in by email and verification state work.
    """
    email = normalize_email(email)
    if email:
        existing = User.objects.filter(email__iexact=email).first()
        if existing is not None:
            return existing, False
    user = User.objects.create_user(
        email=email, password=password, first_name=first_name, last_name=last_name
    )
    if email:
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    return user, True
