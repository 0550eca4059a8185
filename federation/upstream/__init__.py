"""Sign-in through an upstream OpenID provider, on allauth's `openid_connect` provider.

allauth's provider is kept for the protocol (authorization request, state, PKCE, code
exchange) and extended where it falls short of our bar (docs/FEDERATION.md, "Verification"):
the ID token's signature is always checked (allauth skips it for tokens from the token
endpoint), against a cached JWKS refetched on an unknown `kid`; `iss`, `aud`/`azp`, `exp`,
`iat` and a `nonce` bound to the browser session are checked too.
"""
