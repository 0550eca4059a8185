"""django-allauth customisation, at its documented seam (the account adapter)."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from accounts.app_settings import app_settings


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Closed unless the deployment opts in (SIGNUP_OPEN); invitations are the normal way in.
        return app_settings.SIGNUP_OPEN
