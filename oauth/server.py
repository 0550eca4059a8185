"""The oauthlib server DOT drives (OIDC_SERVER_CLASS): only the grants we offer.

No implicit and no password grant (RFC 9700 §2.1.2, §2.4): they are not just
refused by policy, they do not exist here, so `response_type=token` answers
`unsupported_response_type` and `grant_type=password` `unsupported_grant_type`.
"""

from __future__ import annotations

from oauthlib.oauth2.rfc6749.endpoints.authorization import AuthorizationEndpoint
from oauthlib.oauth2.rfc6749.endpoints.resource import ResourceEndpoint
from oauthlib.oauth2.rfc6749.endpoints.token import TokenEndpoint
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.oauth2.rfc6749.tokens import BearerToken
from oauthlib.openid.connect.core.endpoints.pre_configured import Server as OpenIDServer

from oauth.constants import GrantType
from oauth.tokens import expires_in


class Server(OpenIDServer):
    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        **kwargs,
    ):
        super().__init__(
            request_validator,
            token_expires_in=expires_in,
            token_generator=token_generator,
            refresh_token_generator=refresh_token_generator,
            **kwargs,
        )
        # oauthlib's UserInfoEndpoint.__init__ replaces `self.bearer` with a default BearerToken;
        # the endpoints below must use one with our JWT generator and per-client lifetimes.
        self.bearer = BearerToken(request_validator, token_generator, expires_in, refresh_token_generator)
        # PKCE: S256 only (RFC 9700 §2.1.1); `plain` is refused at the authorization request.
        # `_code_challenge_methods` and `proxy_target` are oauthlib-private (written against
        # oauthlib 4.0.1; tests/oauth/test_library_seams.py checks they are still read).
        for grant in (self.auth_grant, getattr(self.openid_connect_auth, "proxy_target", None)):
            if grant is not None:
                grant._code_challenge_methods = {"S256": code_challenge_method_s256}
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": self.auth_grant_choice},
            default_token_type=self.bearer,
        )
        # Our access tokens are JWTs; oauthlib would route them to its "JWT" token type, which
        # DOT validates as ID tokens. Bearer is the only type a resource request may use.
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": self.bearer})
        TokenEndpoint.__init__(
            self,
            default_grant_type=GrantType.AUTHORIZATION_CODE.value,
            grant_types={
                GrantType.AUTHORIZATION_CODE.value: self.token_grant_choice,
                GrantType.CLIENT_CREDENTIALS.value: self.credentials_grant,
                GrantType.REFRESH_TOKEN.value: self.refresh_grant,
            },
            default_token_type=self.bearer,
        )
