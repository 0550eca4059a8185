"""Accounts listens to Django's sign-out (every path: allauth's page, RP-initiated logout, admin)."""

from __future__ import annotations

from allauth.account.signals import password_changed, password_reset
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from accounts.services.sessions import session_signed_out, user_sign_out_everywhere
from audit.context import Actor


@receiver(user_logged_out, dispatch_uid="accounts_session_signed_out")
def end_session_record(sender, request, user, **kwargs) -> None:
    if request is not None and user is not None:
        session_signed_out(request=request, user=user)


@receiver(password_changed, dispatch_uid="accounts_sign_out_on_password_changed")
@receiver(password_reset, dispatch_uid="accounts_sign_out_on_password_reset")
def sign_out_elsewhere(sender, request, user, **kwargs) -> None:
    """A new password ends the user's other sessions and revokes their tokens (ASVS V7)."""
    keep = request.session.session_key if request is not None and request.user == user else None
    actor = Actor.from_request(request).with_user(user) if request is not None else Actor(user=user)
    user_sign_out_everywhere(user=user, actor=actor, reason="password", keep_session_key=keep)
