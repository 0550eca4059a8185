"""The forms of every page that sets a password, with the strength feedback of accounts/passwords.py.

- the set-password link (invitation, reset): `SetPasswordForm` (accounts/views_public.py);
- allauth's sign-up, change password, set password and reset-from-key pages: the classes below,
  named in `ACCOUNT_FORMS` (identity/settings.py); their templates are in templates/account/.

The rules themselves (length, breached list, similarity) are `AUTH_PASSWORD_VALIDATORS`, which
Django's and allauth's password fields already apply.
"""

from __future__ import annotations

from allauth.account import forms as allauth_forms
from django.contrib.auth import forms as auth_forms

from accounts.passwords import PasswordStrengthFormMixin


class SetPasswordForm(PasswordStrengthFormMixin, auth_forms.SetPasswordForm):
    password_field = "new_password1"
    confirm_field = "new_password2"

    def clean(self):
        # Django checks the rules on the confirmation; the reasons belong next to the password.
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        return self.cleaned_data


class SignupForm(PasswordStrengthFormMixin, allauth_forms.SignupForm):
    def password_user(self):
        return None  # no account yet: the address is compared through password_user_inputs


class ChangePasswordForm(PasswordStrengthFormMixin, allauth_forms.ChangePasswordForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # allauth puts a "Forgot your password?" link in the help of the current password; the
        # page has its own next to the button.
        self.fields["oldpassword"].help_text = ""


class AllauthSetPasswordForm(PasswordStrengthFormMixin, allauth_forms.SetPasswordForm):
    pass


class ResetPasswordKeyForm(PasswordStrengthFormMixin, allauth_forms.ResetPasswordKeyForm):
    pass
