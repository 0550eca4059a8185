"""Who did something, from where: passed from entry points into services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest

if TYPE_CHECKING:
    from accounts.models import User


def client_ip(request: HttpRequest) -> str | None:
    """The caller's IP. X-Forwarded-For is honoured only behind TRUSTED_PROXY_COUNT proxies."""
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class Actor:
    """The user or OAuth client performing an operation, with request metadata for the audit log."""

    user: User | None = None
    client_id: str = ""
    ip_address: str | None = None
    user_agent: str = ""
    # Operators' commands and the application itself; never inferred from missing fields.
    is_system: bool = False

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        user = getattr(request, "user", None)
        auth = getattr(request, "auth", None)
        client_id = ""
        application = getattr(auth, "application", None)
        if application is not None:
            client_id = application.client_id
        return cls(
            user=user if user is not None and user.is_authenticated else None,
            client_id=client_id,
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        )

    def with_user(self, user: User) -> Actor:
        return Actor(
            user=user, client_id=self.client_id, ip_address=self.ip_address, user_agent=self.user_agent
        )

    @classmethod
    def system(cls) -> Actor:
        return cls(is_system=True)

    @property
    def label(self) -> str:
        if self.user is not None:
            return str(self.user)
        if self.client_id:
            return f"client:{self.client_id}"
        return "system"
