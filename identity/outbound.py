"""The one rule for URLs this server calls on someone's behalf: upstream issuers and their
endpoints (federation), clients' JWKS and back-channel logout URIs (oauth).

https with a host name or a public address; no user name or password, no fragment (and, where
a URL is compared verbatim, no query). Plain http only to loopback, and only when the caller's
setting allows it (DEBUG, tests, local providers). Internal addresses are refused however they
are written: dotted, shortened (`127.1`), decimal (`2130706433`), hex, with a trailing dot, or
the name `localhost`.

Not covered (said in the docs): a public host name that *resolves* to an internal address;
fetches do not follow redirects, which closes the other usual way round.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
MAX_URL_LENGTH = 2000


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address `host` spells, in any of the forms resolvers accept, else None."""
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # inet_aton takes the legacy forms: 127.1, 2130706433, 0x7f000001, 0177.0.0.1
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def host_is_loopback(host: str) -> bool:
    address = _address(host)
    return host.rstrip(".").lower() in LOOPBACK_NAMES or (address is not None and address.is_loopback)


def host_is_internal(host: str) -> bool:
    """Loopback, private, link-local, reserved, unspecified or multicast (or `localhost`)."""
    if host_is_loopback(host):
        return True
    address = _address(host)
    if isinstance(address, ipaddress.IPv6Address):
        teredo_client = address.teredo[1] if address.teredo else None
        for embedded in (address.ipv4_mapped, address.sixtofour, teredo_client):
            if embedded is not None and not embedded.is_global:
                return True
    # Not globally routable covers private, loopback, link-local, reserved, unspecified, and also
    # shared address space (100.64.0.0/10: carrier-grade NAT, some clouds' metadata services) and
    # IPv6 forms that embed an internal IPv4 address (6to4, mapped).
    return address is not None and (not address.is_global or address.is_multicast)


def outbound_url_problem(
    url: str, *, allow_http_loopback: bool, allow_query: bool = True, example: str
) -> str:
    """Why this server should not call `url`, in plain words; "" when it may."""
    if len(url) > MAX_URL_LENGTH:
        return "The URL is too long."
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "This is not a valid URL."
    if not host:
        return f"Give a full URL, such as {example}."
    if parts.fragment or "#" in url:
        return "The URL may not contain a fragment (#…)."
    if not allow_query and (parts.query or "?" in url):
        return "The URL may not contain a query (?…) or a fragment (#…)."
    if parts.username or parts.password:
        return "The URL may not contain a user name or password."
    loopback_allowed = allow_http_loopback and host_is_loopback(host)
    if parts.scheme == "http" and loopback_allowed:
        return ""
    if parts.scheme != "https":
        return "Use https."
    if host_is_internal(host) and not loopback_allowed:
        return "An internal network address is not allowed; use a public https URL."
    return ""
