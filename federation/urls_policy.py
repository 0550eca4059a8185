"""Which upstream URLs this deployment will call: the one rule for issuers and JWKS locations."""

from __future__ import annotations

from federation.app_settings import app_settings
from identity.outbound import outbound_url_problem as url_problem


def outbound_url_problem(url: str) -> str:
    """Why `url` may not be fetched, in plain words; "" when it may (identity/outbound.py's rule).

    No query or fragment: an issuer is compared verbatim and `/.well-known/…` is appended to it.
    http://localhost / 127.0.0.1 only with `FEDERATION_ALLOW_HTTP_ISSUERS` or DEBUG (local
    providers, tests); internal addresses are refused so a tenant cannot make us probe them.
    """
    return url_problem(
        url,
        allow_http_loopback=app_settings.ALLOW_HTTP_ISSUERS,
        allow_query=False,
        example="https://login.example.com",
    )
