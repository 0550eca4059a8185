"""An upstream provider's discovery document and JWKS, cached, fetched through allauth's
requests session (`SocialAccountAdapter.get_requests_session`: the one outbound HTTP seam of
sign-in, so timeouts and tests' HTTP fakes apply to every call)."""

from __future__ import annotations

import hashlib
from typing import Any

from allauth.socialaccount.adapter import get_adapter
from django.core.cache import cache
from requests import RequestException

from federation.app_settings import app_settings
from federation.upstream.errors import upstream_error
from federation.urls_policy import outbound_url_problem


def _cache_key(kind: str, url: str) -> str:
    return f"federation:{kind}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def _get_json(url: str, reason: str) -> Any:
    try:
        with get_adapter().get_requests_session() as session:
            response = session.get(url, headers={"Accept": "application/json"}, allow_redirects=False)
            response.raise_for_status()
            return response.json()
    except (RequestException, ValueError) as exc:
        raise upstream_error(reason) from exc


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def discovery_document(*, issuer: str, accepted_issuers: set[str]) -> dict:
    """The provider's OpenID configuration; its `issuer` must be one we expect (OIDC Discovery §4.3)."""
    url = discovery_url(issuer)
    key = _cache_key("discovery", url)
    document = cache.get(key)
    if document is None:
        document = _get_json(url, "discovery_unavailable")
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document, dict) or not isinstance(document.get(field), str):
                raise upstream_error("discovery_mismatch")
        # We call these ourselves (the token endpoint even gets the client secret): the same
        # rule as the issuer, so a discovery document cannot point us at an internal address.
        if outbound_url_problem(document["token_endpoint"]) or outbound_url_problem(document["jwks_uri"]):
            raise upstream_error("discovery_unsafe_url")
        cache.set(key, document, app_settings.METADATA_CACHE_SECONDS)
    if document.get("issuer") not in accepted_issuers:  # checked on every use, cached or not
        raise upstream_error("discovery_mismatch")
    return document


def jwks_keys(*, jwks_uri: str, kid: str | None) -> list[dict]:
    """The JWKS keys (dicts), from cache; fetched again once when `kid` is not among them
    (the provider rotated its keys), at most once per REFETCH_COOLDOWN per JWKS so a flood
    of tokens with made-up `kid`s cannot make us hammer the provider."""
    key = _cache_key("jwks", jwks_uri)
    keys = cache.get(key)
    fetched = False
    if keys is None:
        keys, fetched = _fetch_keys(jwks_uri), True
        cache.set(key, keys, app_settings.METADATA_CACHE_SECONDS)
    known = {k.get("kid") for k in keys}
    if (
        kid not in known
        and not fetched
        and cache.add(f"{key}:refetch", 1, app_settings.JWKS_REFETCH_COOLDOWN)
    ):
        keys = _fetch_keys(jwks_uri)
        cache.set(key, keys, app_settings.METADATA_CACHE_SECONDS)
    return keys


def _fetch_keys(jwks_uri: str) -> list[dict]:
    document = _get_json(jwks_uri, "jwks_unavailable")
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise upstream_error("jwks_unavailable")
    return [k for k in keys if isinstance(k, dict)]
