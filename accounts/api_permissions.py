"""Who may call the portal API, and with which OAuth scopes.

- A browser session of a signed-in user: allowed (project roles are checked per view).
- A bearer token issued to a user: needs `portal.read` for reads and `portal.write` for writes.
- A client-credentials token: the client acts on its own project with the role an admin gave
  it (Client.role); without a role it has no portal API access. Same scope rule.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from oauth.scopes import PORTAL_READ as READ_SCOPE
from oauth.scopes import PORTAL_WRITE as WRITE_SCOPE


def automation_client(request):
    """The OAuth client behind a client-credentials token, or None."""
    token = request.auth
    application = getattr(token, "application", None)
    if application is not None and getattr(token, "user_id", "x") is None:
        return application
    return None


class PortalAccess(BasePermission):
    message = "This token lacks the portal.read / portal.write scope, or its client has no portal role."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None or not hasattr(token, "application"):
            return bool(request.user and request.user.is_authenticated)
        scopes = set((token.scope or "").split())
        needed = {READ_SCOPE, WRITE_SCOPE} if request.method in SAFE_METHODS else {WRITE_SCOPE}
        if not scopes & needed:
            return False
        client = automation_client(request)
        if client is not None:
            return bool(client.role) and client.is_active
        return bool(request.user and request.user.is_authenticated)
