"""Accounts listens to Django's and allauth's sign-in signals (every path: allauth's pages,
RP-initiated logout, the admin): it records them in the audit logs of the projects they belong
to, keeps the records of browser sessions (made at sign-in, ended on sign-out) and ends the other
sessions on a password change."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset
from allauth.account.signals import user_logged_in as allauth_user_logged_in
from allauth.mfa.signals import authenticator_added
from allauth.usersessions import signals as usersessions_signals
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.models import Project, User, normalize_email
from accounts.selectors import FACTOR_TYPES, mfa_required_for, sign_in_event_projects, user_factor_count
from accounts.services.sessions import session_signed_in, session_signed_out, user_sign_out_everywhere
from audit.context import Actor
from audit.models import AuditAction, AuditOutcome
from audit.services import audit_record


def _record_sign_in_event(
    *,
    action: AuditAction,
    request,
    user: User | None,
    actor: Actor,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    target_label: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """One audit row per project the event belongs to (`sign_in_event_projects`), so each
    project's log and its `login.failed` subscribers see it; one row without a project when
    it belongs to none."""
    projects: list[Project | None] = [*sign_in_event_projects(request=request, user=user)] or [None]
    for project in projects:
        audit_record(
            action=action,
            actor=actor,
            project=project,
            target=user,
            target_label=target_label,
            outcome=outcome,
            details=details,
        )


@receiver(user_logged_in, dispatch_uid="accounts_audit_user_logged_in")
def record_login(sender, request, user, **kwargs) -> None:
    if request is not None:
        _record_sign_in_event(
            action=AuditAction.USER_SIGNED_IN,
            request=request,
            user=user,
            actor=Actor.from_request(request).with_user(user),
        )


@receiver(user_logged_in, dispatch_uid="accounts_mfa_enrolment_on_sign_in")
def require_mfa_enrolment(sender, request, user, **kwargs) -> None:
    """A member of a project that requires a second factor, signing in without one, sets one up
    before anything else (accounts.middleware.MfaEnrolmentMiddleware)."""
    from accounts.views_mfa import ENROLMENT_REQUIRED_KEY

    if request is not None and hasattr(request, "session"):
        if mfa_required_for(user=user) and not user_factor_count(user=user):
            request.session[ENROLMENT_REQUIRED_KEY] = True
        else:
            request.session.pop(ENROLMENT_REQUIRED_KEY, None)


# allauth.usersessions records the new session at each sign-in after opening every other session
# of the user one by one (three statements and 1.6 ms of CPU each): sign-ins got slower with each
# one of the day. Ours records it too, forgetting the ended ones with one DELETE.
allauth_user_logged_in.disconnect(receiver=usersessions_signals.on_user_logged_in)


@receiver(allauth_user_logged_in, dispatch_uid="accounts_session_record_on_sign_in")
def record_session(sender, request, **kwargs) -> None:
    session_signed_in(request=request)


@receiver(authenticator_added, dispatch_uid="accounts_mfa_enrolment_done")
def end_mfa_enrolment(sender, request, user, **kwargs) -> None:
    from accounts.views_mfa import ENROLMENT_REQUIRED_KEY

    authenticator = kwargs.get("authenticator")
    is_factor = authenticator is not None and authenticator.type in FACTOR_TYPES  # not recovery codes
    if is_factor and request is not None and hasattr(request, "session"):
        request.session.pop(ENROLMENT_REQUIRED_KEY, None)


@receiver(user_logged_out, dispatch_uid="accounts_audit_user_logged_out")
def record_logout(sender, request, user, **kwargs) -> None:
    if request is not None and user is not None:
        _record_sign_in_event(
            action=AuditAction.USER_SIGNED_OUT,
            request=request,
            user=user,
            actor=Actor.from_request(request).with_user(user),
        )


@receiver(user_login_failed, dispatch_uid="accounts_audit_user_login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # `credentials` is already cleaned by Django (password replaced); keep only the login name.
    login = str(credentials.get("email") or credentials.get("username") or "")[:255]
    email = normalize_email(login)
    user = User.objects.filter(email=email).first() if email else None
    _record_sign_in_event(
        action=AuditAction.USER_SIGN_IN_FAILED,
        request=request,
        user=user,
        actor=Actor.from_request(request) if request is not None else Actor.system(),
        outcome=AuditOutcome.FAILURE,
        target_label=login,
        details={"login": login},
    )


@receiver(password_changed, dispatch_uid="accounts_audit_password_changed")
@receiver(password_reset, dispatch_uid="accounts_audit_password_reset")
def record_password_changed(sender, request, user, **kwargs) -> None:
    _record_sign_in_event(
        action=AuditAction.USER_PASSWORD_CHANGED,
        request=request,
        user=user,
        actor=Actor.from_request(request).with_user(user) if request is not None else Actor(user=user),
    )


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
