"""The scopes this server knows, in plain words for the consent page (SCOPES_BACKEND_CLASS)."""

from __future__ import annotations

from oauth2_provider.scopes import BaseScopes

OIDC_SCOPES = {
    "openid": "Sign you in with your account",
    "profile": "See your name",
    "email": "See your email address",
    "offline_access": "Keep access while you are away (refresh tokens)",
    "portal.read": "Read your project's users, invitations and access policies (portal API)",
    "portal.write": "Change your project's users, invitations and access policies (portal API)",
}


class Scopes(BaseScopes):
    def get_all_scopes(self):
        return dict(OIDC_SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is not None and application.allowed_scopes:
            return [s for s in application.allowed_scopes.split() if s in OIDC_SCOPES]
        return list(OIDC_SCOPES)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return ["openid"]
