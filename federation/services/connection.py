"""The connection test: fetch the provider's discovery document and JWKS, say what is wrong.

Read-only (nothing is written, nothing audited). Every failure becomes one plain sentence for
the administrator; no exception text from the network stack reaches them unexplained.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from federation.app_settings import app_settings
from federation.models import IdentityProvider
from federation.urls_policy import outbound_url_problem

MAX_BYTES = 512 * 1024  # a discovery document or JWKS is a few KB
SIGNING_KEY_TYPES = {"RSA", "EC", "OKP"}


@dataclass
class ConnectionReport:
    """`ok` and one `message`; `problems` lists each thing wrong, `details` what was found."""

    ok: bool
    message: str
    problems: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class _Failed(Exception):
    """One plain-words reason the test cannot continue."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead to a plain-http or internal address the URL rule would refuse.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise _Failed(f"{req.full_url} redirects to {newurl}; use the final URL as the issuer.")


def _fetch_json(url: str, what: str) -> Any:
    if problem := outbound_url_problem(url):
        raise _Failed(f"The {what} URL {url} is not allowed: {problem}")
    opener = urllib.request.build_opener(_NoRedirects)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - https checked above
    try:
        with opener.open(request, timeout=app_settings.HTTP_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_BYTES + 1)
    except _Failed:
        raise
    except urllib.error.HTTPError as exc:
        raise _Failed(f"{url} answered HTTP {exc.code}; the {what} should be there.") from None
    except TimeoutError:
        raise _Failed(f"{url} did not answer within {app_settings.HTTP_TIMEOUT_SECONDS:g} seconds.") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise _Failed(
                f"{url} did not answer within {app_settings.HTTP_TIMEOUT_SECONDS:g} seconds."
            ) from None
        if isinstance(reason, socket.gaierror):
            raise _Failed(f"The host of {url} cannot be found in DNS; check the spelling.") from None
        if isinstance(reason, ConnectionRefusedError):
            raise _Failed(f"{url} is unreachable: the connection was refused.") from None
        if "CERTIFICATE" in str(reason).upper():
            raise _Failed(f"{url} has a TLS certificate this server does not trust.") from None
        raise _Failed(f"{url} is unreachable ({reason}).") from None
    except (OSError, ValueError) as exc:
        raise _Failed(f"{url} is unreachable ({exc.__class__.__name__}).") from None
    if len(body) > MAX_BYTES:
        raise _Failed(f"{url} sent more than {MAX_BYTES // 1024} KB; that is not a {what}.")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Failed(f"{url} did not return JSON; is the issuer right?") from None


def _discovery_url(issuer: str) -> str:
    return f"{issuer.rstrip('/')}/.well-known/openid-configuration"


def identity_provider_test(*, identity_provider: IdentityProvider) -> ConnectionReport:
    """Fetch `<issuer>/.well-known/openid-configuration` and its `jwks_uri` (short timeouts) and
    check what sign-in will rely on: the issuer matches exactly, the endpoints exist, the JWKS has
    signing keys. Never raises for what the provider does; the report says it."""
    issuer = identity_provider.issuer
    details: dict[str, Any] = {"issuer": issuer, "discovery_url": _discovery_url(issuer)}
    try:
        document = _fetch_json(details["discovery_url"], "discovery document")
        if not isinstance(document, dict):
            raise _Failed(f"{details['discovery_url']} is JSON but not a discovery document.")
        problems = _check_discovery(document, issuer=issuer, pkce=identity_provider.pkce, details=details)
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            problems.append("The discovery document has no jwks_uri, so sign-in tokens could not be checked.")
        else:
            details["jwks_uri"] = jwks_uri
            problems.extend(_check_jwks(_fetch_json(jwks_uri, "JWKS"), jwks_uri=jwks_uri, details=details))
    except _Failed as failure:
        return ConnectionReport(ok=False, message=str(failure), problems=[str(failure)], details=details)
    if problems:
        return ConnectionReport(ok=False, message=problems[0], problems=problems, details=details)
    return ConnectionReport(
        ok=True,
        message=f"Connected: {issuer} publishes its configuration and {details['signing_keys']} signing key(s).",
        details=details,
    )


def _check_discovery(document: dict, *, issuer: str, pkce: bool, details: dict) -> list[str]:
    problems = []
    published = document.get("issuer")
    if published != issuer:
        problems.append(
            f"The provider calls itself {published!r}, but this provider is configured with {issuer!r}; "
            "they must match exactly (including any trailing slash)."
            if published
            else "The discovery document does not name its issuer."
        )
    for key in ("authorization_endpoint", "token_endpoint"):
        value = document.get(key)
        if not isinstance(value, str) or not value:
            problems.append(f"The discovery document has no {key}.")
        else:
            details[key] = value
    response_types = document.get("response_types_supported")
    if isinstance(response_types, list) and "code" not in response_types:
        problems.append("The provider does not offer the authorization code flow (response type code).")
    methods = document.get("code_challenge_methods_supported")
    if pkce and isinstance(methods, list) and "S256" not in methods:
        problems.append("PKCE is on, but the provider does not list S256; turn PKCE off for it.")
    return problems


def _check_jwks(jwks: Any, *, jwks_uri: str, details: dict) -> list[str]:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        return [f"{jwks_uri} is not a JWKS (no keys list)."]
    signing = [
        key
        for key in keys
        if isinstance(key, dict) and key.get("kty") in SIGNING_KEY_TYPES and key.get("use", "sig") == "sig"
    ]
    details["signing_keys"] = len(signing)
    if not keys:
        return [f"The JWKS at {jwks_uri} is empty: the provider publishes no keys."]
    if not signing:
        return [f"The JWKS at {jwks_uri} has no signing keys (only encryption or unknown key types)."]
    return []
