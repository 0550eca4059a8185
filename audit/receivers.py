"""Audit listens to sign-in signals of Django and allauth (signals are their outbound hooks)."""

from __future__ import annotations

from allauth.account.signals import password_changed, password_reset
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.context import Actor
from audit.models import AuditAction, AuditOutcome
from audit.services import audit_record


@receiver(user_logged_in, dispatch_uid="audit_user_logged_in")
def record_login(sender, request, user, **kwargs) -> None:
    if request is not None:
        audit_record(
            action=AuditAction.USER_SIGNED_IN, actor=Actor.from_request(request).with_user(user), target=user
        )


@receiver(user_logged_out, dispatch_uid="audit_user_logged_out")
def record_logout(sender, request, user, **kwargs) -> None:
    if request is not None and user is not None:
        audit_record(
            action=AuditAction.USER_SIGNED_OUT, actor=Actor.from_request(request).with_user(user), target=user
        )


@receiver(user_login_failed, dispatch_uid="audit_user_login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # `credentials` is already cleaned by Django (password replaced); keep only the login name.
    login = str(credentials.get("email") or credentials.get("username") or "")[:255]
    actor = Actor.from_request(request) if request is not None else Actor.system()
    audit_record(
        action=AuditAction.USER_SIGN_IN_FAILED,
        actor=actor,
        outcome=AuditOutcome.FAILURE,
        target_label=login,
        details={"login": login},
    )


@receiver(password_changed, dispatch_uid="audit_password_changed")
@receiver(password_reset, dispatch_uid="audit_password_reset")
def record_password_changed(sender, request, user, **kwargs) -> None:
    audit_record(
        action=AuditAction.USER_PASSWORD_CHANGED,
        actor=Actor.from_request(request).with_user(user),
        target=user,
    )
