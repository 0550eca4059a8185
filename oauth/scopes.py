"""The scopes this server knows, in plain words for the consent page (SCOPES_BACKEND_CLASS)."""

from __future__ import annotations

from oauth2_provider.scopes import BaseScopes

# The portal API's scopes (checked by accounts/api_permissions.py): reads need one of them,
# writes need portal.write.
PORTAL_READ = "portal.read"
PORTAL_WRITE = "portal.write"
# What an automation client's portal role (Client.role) can use: an admin client administers its
# project (reads and writes), a member client only reads it (the admin APIs refuse other roles).
# A client given a role but no portal scope gets these (oauth.services), else its tokens could
# not call the portal API at all.
ROLE_SCOPES = {"admin": (PORTAL_READ, PORTAL_WRITE), "member": (PORTAL_READ,)}

OIDC_SCOPES = {
    "openid": "Sign you in with your account",
    "profile": "See your name",
    "email": "See your email address",
    "offline_access": "Keep access while you are away (refresh tokens)",
    PORTAL_READ: "Read your project's users, invitations and access policies (portal API)",
    PORTAL_WRITE: "Change your project's users, invitations and access policies (portal API)",
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
