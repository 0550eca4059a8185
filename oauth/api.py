"""REST API for a project's OAuth clients (routed by oauth/api_urls.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors as account_selectors
from identity.api import Pagination, ProjectAdminApi
from identity.api_schema import PROJECT_API_ERRORS
from oauth import selectors, services
from oauth.constants import TokenEndpointAuthMethod
from oauth.models import Client, ClientRole, GrantType, SigningAlgorithm
from oauth.scopes import ScopeError, scope_parse


class ClientOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    client_id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    client_type = serializers.CharField()
    grant_types = serializers.ListField(source="allowed_grant_types", child=serializers.CharField())
    redirect_uris = serializers.SerializerMethodField()
    scopes = serializers.SerializerMethodField()
    access_token_lifetime = serializers.IntegerField(allow_null=True)
    refresh_token_lifetime = serializers.IntegerField(allow_null=True)
    skip_consent = serializers.BooleanField(source="skip_authorization")
    role = serializers.CharField()
    is_active = serializers.BooleanField()
    created = serializers.DateTimeField()
    secret_rotated_at = serializers.DateTimeField(allow_null=True)
    token_endpoint_auth_method = serializers.CharField()
    jwks_uri = serializers.CharField()
    jwks = serializers.JSONField(help_text="The client's public keys (a JWKS), or {}.")
    post_logout_redirect_uris = serializers.SerializerMethodField()
    backchannel_logout_uri = serializers.CharField()
    backchannel_logout_session_required = serializers.BooleanField()
    revoke_tokens_on_logout = serializers.BooleanField()
    algorithm = serializers.CharField(help_text="What the client's ID tokens are signed with.")
    access_token_algorithm = serializers.CharField(
        help_text="What the client's JWT access tokens are signed with."
    )

    def get_redirect_uris(self, client: Client) -> list[str]:
        return client.redirect_uris.split()

    def get_post_logout_redirect_uris(self, client: Client) -> list[str]:
        return client.post_logout_redirect_uris.split()

    def get_scopes(self, client: Client) -> list[str]:
        return client.allowed_scopes.split()


class ClientWithSecretOutput(serializers.Serializer):
    client = ClientOutput()
    client_secret = serializers.CharField(
        allow_null=True,
        help_text="Shown only in this response; store it now. Null for public and private_key_jwt clients.",
    )


class ScopeField(serializers.CharField):
    """One scope, checked by the scope grammar (oauth/scopes.py): the reason when it is not one."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            scope_parse(value)
        except ScopeError as error:
            raise serializers.ValidationError(f"{value}: {error.reason}.") from None
        return value


class ClientInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    client_type = serializers.ChoiceField(
        choices=[Client.CLIENT_CONFIDENTIAL, Client.CLIENT_PUBLIC], default=Client.CLIENT_CONFIDENTIAL
    )
    grant_types = serializers.ListField(
        child=serializers.ChoiceField(choices=GrantType.values), allow_empty=False
    )
    redirect_uris = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    scopes = serializers.ListField(
        child=ScopeField(max_length=300),
        required=False,
        default=lambda: ["openid"],
        help_text=(
            "Named scopes (openid, profile, email, fhirUser, launch, launch/patient, launch/encounter, "
            "offline_access, online_access, portal.read, portal.write) and SMART resource scopes "
            "such as patient/*.rs or user/Observation.cruds; checked by the scope grammar."
        ),
    )
    access_token_lifetime = serializers.IntegerField(required=False, allow_null=True, default=None)
    refresh_token_lifetime = serializers.IntegerField(required=False, allow_null=True, default=None)
    skip_consent = serializers.BooleanField(default=False)
    role = serializers.ChoiceField(choices=ClientRole.values, required=False, allow_blank=True, default="")
    access_policy = serializers.UUIDField(required=False, allow_null=True, default=None)
    algorithm = serializers.ChoiceField(
        choices=SigningAlgorithm.values,
        default=SigningAlgorithm.RS256,
        help_text="What the client's ID tokens (and logout tokens) are signed with.",
    )
    access_token_algorithm = serializers.ChoiceField(
        choices=SigningAlgorithm.values,
        default=SigningAlgorithm.RS256,
        help_text=(
            "What the client's JWT access tokens are signed with, for the resource servers that verify "
            "them against the JWKS. ES256 is much cheaper to sign; choose it when they accept it."
        ),
    )
    token_endpoint_auth_method = serializers.ChoiceField(
        choices=TokenEndpointAuthMethod.values,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "How the client authenticates at the token endpoint. Default: client_secret_basic for "
            "confidential clients (either secret method works), none for public ones. "
            "private_key_jwt (RFC 7523, SMART Backend Services) needs jwks_uri or jwks and gets no secret."
        ),
    )
    jwks_uri = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="private_key_jwt: an https URL.",
    )
    jwks = serializers.JSONField(
        required=False,
        default=dict,
        help_text='private_key_jwt: the public keys, {"keys": [...]} (RSA or EC P-256/P-384, no private parts).',
    )
    post_logout_redirect_uris = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text=(
            "Where RP-initiated logout (/o/logout/) may send the browser back to, matched exactly; "
            "the rule of redirect_uris. Authorization code clients only."
        ),
    )
    backchannel_logout_uri = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text=(
            "OpenID Back-Channel Logout: an https URL the logout token is POSTed to when a session "
            "in which the client got tokens ends."
        ),
    )
    backchannel_logout_session_required = serializers.BooleanField(
        required=False, default=True, help_text="Logout tokens carry the session's sid."
    )
    revoke_tokens_on_logout = serializers.BooleanField(
        required=False,
        default=True,
        help_text="When a browser session ends, the tokens the client got in it are revoked.",
    )


# A PUT that names none of these keeps how the client authenticates.
_AUTH_FIELDS = ("token_endpoint_auth_method", "jwks_uri", "jwks")
# A PUT that does not name one of these keeps its value (callers written before they existed).
_KEPT_WHEN_ABSENT = (
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "revoke_tokens_on_logout",
    "algorithm",
    "access_token_algorithm",
)


def _client_input(project, data: dict) -> services.ClientInput:
    data = dict(data)
    policy = account_selectors.access_policy_from_input(
        project=project, policy_id=data.pop("access_policy", None)
    )
    return services.ClientInput(**data, access_policy=policy)


class ClientListCreateApi(ProjectAdminApi):
    @extend_schema(
        tags=["clients"],
        operation_id="clients_list",
        responses={200: ClientOutput(many=True), **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.client_list(
                project=self.project,
                query=request.query_params.get("q", ""),
                status=request.query_params.get("status", ""),
            ),
            request,
            view=self,
        )
        return paginator.get_paginated_response(ClientOutput(page, many=True).data)

    @extend_schema(
        tags=["clients"],
        operation_id="clients_create",
        request=ClientInputSerializer,
        responses={201: ClientWithSecretOutput, **PROJECT_API_ERRORS},
    )
    def post(self, request: Request, project_id) -> Response:
        serializer = ClientInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.client_create(
            project=self.project,
            actor=self.actor,
            data=_client_input(self.project, serializer.validated_data),
        )
        response = Response(ClientWithSecretOutput(issued).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class ClientDetailApi(ProjectAdminApi):
    @extend_schema(
        tags=["clients"], operation_id="clients_retrieve", responses={200: ClientOutput, **PROJECT_API_ERRORS}
    )
    def get(self, request: Request, project_id, client_pk) -> Response:
        return Response(ClientOutput(selectors.client_get(project=self.project, client_pk=client_pk)).data)

    @extend_schema(
        tags=["clients"],
        operation_id="clients_update",
        request=ClientInputSerializer,
        responses={200: ClientOutput, **PROJECT_API_ERRORS},
    )
    def put(self, request: Request, project_id, client_pk) -> Response:
        client = selectors.client_get(project=self.project, client_pk=client_pk)
        kept = (
            {}
            if any(name in request.data for name in _AUTH_FIELDS)
            else {
                "token_endpoint_auth_method": client.token_endpoint_auth_method,
                "jwks_uri": client.jwks_uri,
                "jwks": client.jwks,
            }
        )
        current = ClientOutput(client).data
        kept.update({name: current[name] for name in _KEPT_WHEN_ABSENT if name not in request.data})
        serializer = ClientInputSerializer(data={"client_type": client.client_type, **kept, **request.data})
        serializer.is_valid(raise_exception=True)
        client = services.client_update(
            client=client, actor=self.actor, data=_client_input(self.project, serializer.validated_data)
        )
        return Response(ClientOutput(client).data)

    @extend_schema(
        tags=["clients"], operation_id="clients_destroy", responses={204: None, **PROJECT_API_ERRORS}
    )
    def delete(self, request: Request, project_id, client_pk) -> Response:
        services.client_delete(
            client=selectors.client_get(project=self.project, client_pk=client_pk), actor=self.actor
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClientRotateSecretApi(ProjectAdminApi):
    @extend_schema(
        tags=["clients"],
        request=None,
        responses={200: ClientWithSecretOutput, **PROJECT_API_ERRORS},
        description="A new secret, shown once. The previous secret keeps working for the grace period.",
    )
    def post(self, request: Request, project_id, client_pk) -> Response:
        client = selectors.client_get(project=self.project, client_pk=client_pk)
        secret = services.client_rotate_secret(client=client, actor=self.actor)
        client.refresh_from_db()
        response = Response(ClientWithSecretOutput({"client": client, "client_secret": secret}).data)
        response["Cache-Control"] = "no-store"
        return response


class ClientStatusApi(ProjectAdminApi):
    active = False

    @extend_schema(tags=["clients"], request=None, responses={200: ClientOutput, **PROJECT_API_ERRORS})
    def post(self, request: Request, project_id, client_pk) -> Response:
        client = selectors.client_get(project=self.project, client_pk=client_pk)
        return Response(
            ClientOutput(services.client_set_active(client=client, actor=self.actor, active=self.active)).data
        )


class ClientDisableApi(ClientStatusApi):
    active = False


class ClientEnableApi(ClientStatusApi):
    active = True
