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
    user = user_build(email=email, first_name=first_name, last_name=last_name, password=password)
    user.save()
    if email:
        _email_address_new(user=user, verified=email_verified).save(force_insert=True)
    return user, True


def users_create_many(*, users: list[User]) -> list[User]:
    """Insert new users made by `user_build` (none of their emails taken) with their allauth
    addresses, as `user_get_or_create` makes them: two INSERTs. For a bulk invite's chunk, which
    looked its emails up first; a user made meanwhile with one of them fails the INSERT (the
    unique email) and the chunk falls back to one person at a time."""
    User.objects.bulk_create(users)
    EmailAddress.objects.bulk_create([_email_address_new(user=user) for user in users if user.email])
    return users


def user_build(
    *, email: str | None, first_name: str = "", last_name: str = "", password: str | None = None
) -> User:
    """An unsaved user as `UserManager.create_user` makes one: normalised email; without a
    password, an unusable one (set later through a set-password link, never left blank)."""
    user = User(email=normalize_email(email), first_name=first_name, last_name=last_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    return user


def _email_address_new(*, user: User, verified: bool = False) -> EmailAddress:
    """allauth's row for the user's address, kept in step so sign-in by email and verification work."""
    return EmailAddress(user=user, email=user.email, primary=True, verified=verified)


@transaction.atomic
def user_profile_refresh(
    *, user: User, first_name: str | None, last_name: str | None, verified_email: str | None
) -> list[str]:
    """Bring name and email up to date with what a trusted source (an identity provider) says.

    Blank values never erase what is stored. The email changes only to a `verified_email`
    no other user has; its allauth address is recorded as verified. Returns the changed fields.
    """
    changed = []
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        value = (value or "").strip()[:150]
        if value and getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    email = normalize_email(verified_email)
    if (
        email
        and user.email != email
        and not User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists()
    ):
        user.email = email
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
    if email and user.email == email:
        address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
        if address is None:
            EmailAddress.objects.filter(user=user, primary=True).update(primary=False)
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        elif not address.verified or not address.primary:
            EmailAddress.objects.filter(user=user, primary=True).exclude(pk=address.pk).update(primary=False)
            address.verified = address.primary = True
            address.save(update_fields=["verified", "primary"])
    return changed


@transaction.atomic
def user_password_remove(*, user: User, actor, reason: str) -> None:
    """Make the password unusable (and with it every session it signed in: Django checks a hash
    of the password in each session). Audited; the person signs in another way from now on."""
    from audit.models import AuditAction
    from audit.services import audit_record

    if not user.has_usable_password():
        return
    user.set_unusable_password()
    user.save(update_fields=["password"])
    audit_record(
        action=AuditAction.USER_PASSWORD_CHANGED,
        actor=actor,
        target=user,
        details={"via": "removed", "reason": reason},
    )
