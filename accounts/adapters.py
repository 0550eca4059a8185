"""django-allauth customisation, at its documented seam (the account adapter).

Every email allauth would send goes through our outbox instead (same transaction,
retried, visible), and password reset uses our single-use set-password links.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.http import HttpRequest
from django.template.loader import render_to_string

from accounts.flows.password_reset import password_reset_request
from accounts.flows.signup import signup_allowed
from accounts.services import lockout
from audit.context import Actor
from identity import crypto
from notifications.models import MessageKind
from notifications.services import message_enqueue

# identity.crypto purpose of the TOTP secrets and recovery-code seeds allauth stores.
MFA_SECRET_PURPOSE = "mfa-secret"


def _signup_project_slug(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.POST.get("project") or request.GET.get("project") or None


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {**DefaultAccountAdapter.error_messages, **lockout.SIGN_IN_REFUSALS}

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Closed unless the deployment opts in (SIGNUP_OPEN) or the sign-up joins a project
        # that allows self sign-up; invitations are the normal way in.
        return signup_allowed(project_slug=_signup_project_slug(request))

    # Brute-force protection (accounts/services/lockout.py) around allauth's password check,
    # before allauth's own rate limit: delayed or locked answers the same for any address.
    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        verdict = lockout.attempt_check(
            scope=lockout.SIGN_IN, keys=lockout.sign_in_keys(request, credentials)
        )
        if not verdict.allowed:
            raise self.validation_error(*lockout.sign_in_refusal(verdict))
        super().pre_authenticate(request, **credentials)

    def authenticate(self, request: HttpRequest, **credentials: Any):
        user = super().authenticate(request, **credentials)
        if user is not None:
            lockout.attempt_succeeded(scope=lockout.SIGN_IN, keys={lockout.ACCOUNT: credentials.get("email")})
        return user

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        keys = lockout.sign_in_keys(request, credentials)
        lockout.attempt_failed(scope=lockout.SIGN_IN, keys=keys, actor=Actor.from_request(request))

    def send_password_reset_mail(self, user, email: str, context: dict[str, Any]) -> None:
        password_reset_request(user=user, email=email)

    def get_email_confirmation_url(self, request: HttpRequest | None, emailconfirmation) -> str:
        """Links in emails are built on APP_BASE_URL, never on the request's Host header (a
        forged Host would put an attacker's domain in the link); works outside a request too."""
        from django.conf import settings
        from django.urls import reverse

        return f"{settings.APP_BASE_URL}{reverse('account_confirm_email', args=[emailconfirmation.key])}"

    def send_confirmation_mail(self, request: HttpRequest, emailconfirmation, signup: bool) -> None:
        user = emailconfirmation.email_address.user
        link = self.get_email_confirmation_url(request, emailconfirmation)
        message_enqueue(
            kind=MessageKind.WELCOME_VERIFY_EMAIL,
            to_email=emailconfirmation.email_address.email,
            user=user,
            project=None,
            context={"link": link, "signup": signup},
        )

    def send_notification_mail(self, template_prefix: str, user, context=None, email=None) -> None:
        if template_prefix.endswith("password_changed") or template_prefix.endswith("password_set"):
            from identity.clock import clock

            if user.email:
                message_enqueue(
                    kind=MessageKind.PASSWORD_CHANGED,
                    to_email=email or user.email,
                    user=user,
                    context={"changed_at": clock.now(), "ip": self.get_client_ip(self.request)},
                )
            return
        super().send_notification_mail(template_prefix, user, context, email)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Any other allauth email: render allauth's template, deliver through the outbox."""
        ctx = {"email": email, **context}
        subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", ctx).split())
        text = render_to_string(f"{template_prefix}_message.txt", ctx)
        message_enqueue(
            kind=MessageKind.ACCOUNT_NOTICE,
            to_email=email,
            user=context.get("user"),
            context={"subject": self.format_email_subject(subject), "text": text},
        )


class MFAAdapter(DefaultMFAAdapter):
    """allauth mfa, at its adapter seam: TOTP and recovery-code seeds encrypted at rest
    (identity.crypto, purpose `mfa-secret`), the account's email as the authenticator app's
    label, and no removing the last factor while a project of the user requires one."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text, purpose=MFA_SECRET_PURPOSE)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text, purpose=MFA_SECRET_PURPOSE)

    def get_totp_label(self, user) -> str:
        return user.email or str(user.pk)

    def can_delete_authenticator(self, authenticator) -> bool:
        from accounts.selectors import mfa_required_for, user_factor_count

        if authenticator.type == authenticator.Type.RECOVERY_CODES:
            return True
        return not mfa_required_for(user=authenticator.user) or user_factor_count(user=authenticator.user) > 1
