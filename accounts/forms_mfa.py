"""allauth mfa's code forms (MFA_FORMS, its documented seam) with the brute-force protection of
accounts/services/lockout.py around the code check: per account and per IP, growing delays then
a temporary lock, the same as the password step (scope `mfa`)."""

from __future__ import annotations

from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from django import forms

from accounts.models import User
from accounts.services import lockout
from audit.context import Actor, client_ip


class _GuardedCode:
    """Mixin for allauth's BaseAuthenticateForm subclasses: refuse while delayed or locked,
    count a wrong code, start over after a right one."""

    user: User

    def _keys(self) -> dict:
        request = context.request
        return {
            lockout.ACCOUNT: lockout.account_key(self.user),
            lockout.IP: client_ip(request) if request else None,
        }

    def clean_code(self) -> str:
        keys = self._keys()
        verdict = lockout.attempt_check(scope=lockout.MFA, keys=keys)
        if not verdict.allowed:
            raise forms.ValidationError(lockout.refusal_message(verdict), code="too_many_failed_attempts")
        try:
            code = super().clean_code()  # type: ignore[misc]
        except forms.ValidationError:
            request = context.request
            actor = Actor.from_request(request).with_user(self.user) if request else Actor(user=self.user)
            lockout.attempt_failed(scope=lockout.MFA, keys=keys, actor=actor)
            raise
        lockout.attempt_succeeded(scope=lockout.MFA, keys={lockout.ACCOUNT: keys[lockout.ACCOUNT]})
        return code


class GuardedAuthenticateForm(_GuardedCode, AuthenticateForm):
    pass


class GuardedReauthenticateForm(_GuardedCode, ReauthenticateForm):
    pass
