"""Which upstream URLs this deployment will call: the one rule for issuers and JWKS locations."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from federation.app_settings import app_settings

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _is_loopback(host: str) -> bool:
    return host in LOOPBACK_NAMES


def _internal_ip_literal(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_reserved


def outbound_url_problem(url: str) -> str:
    """Why `url` may not be fetched, in plain words; "" when it may.

    https only; no query or fragment (an issuer is compared verbatim and `/.well-known/…` is
    appended to it). http://localhost / 127.0.0.1 only with `FEDERATION_ALLOW_HTTP_ISSUERS` or
    DEBUG (local providers, tests). IP literals of internal networks are refused in production
    so the connection test cannot be used to probe them.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "This is not a valid URL."
    if not host:
        return "Give a full URL, such as https://login.example.com."
    if parts.query or parts.fragment or "#" in url or "?" in url:
        return "The URL may not contain a query (?…) or a fragment (#…)."
    if parts.username or parts.password:
        return "The URL may not contain a user name or password."
    local_allowed = app_settings.ALLOW_HTTP_ISSUERS and _is_loopback(host)
    if parts.scheme == "http" and local_allowed:
        return ""
    if parts.scheme != "https":
        return "Use https."
    if _internal_ip_literal(host) and not local_allowed:
        return "An internal network address is not allowed; use the provider's public https URL."
    return ""
