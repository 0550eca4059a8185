"""Accounts listens to Django's sign-out (every path: allauth's page, RP-initiated logout, admin)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from accounts.services.sessions import session_signed_out


@receiver(user_logged_out, dispatch_uid="accounts_session_signed_out")
def end_session_record(sender, request, user, **kwargs) -> None:
    if request is not None and user is not None:
        session_signed_out(request=request, user=user)
