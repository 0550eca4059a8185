"""REST API for a project's identity providers and their domain claims (routed by federation/api_urls.py)."""

from __future__ import annotations

import dataclasses

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from federation import selectors, services
from federation.models import MatchBy, ProviderKind
from identity.api import ProjectAdminApi, paginated_response, parse_input
from identity.api_schema import PROJECT_API_ERRORS

TAGS = ["identity providers"]


class DomainClaimOutput(serializers.Serializer):
    id = serializers.UUIDField()
    domain = serializers.CharField()
    verified = serializers.BooleanField(source="is_verified")
    verified_at = serializers.DateTimeField(allow_null=True)
    verification_method = serializers.CharField(help_text="`dns`, `operator`, or empty while unverified.")
    txt_record_name = serializers.CharField(source="domain", help_text="Where to publish the TXT record.")
    txt_record_value = serializers.CharField(source="txt_record", help_text="The TXT record to publish.")
    created_at = serializers.DateTimeField()


class IdentityProviderOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    name = serializers.CharField()
    issuer = serializers.CharField(help_text="Given for `oidc`, derived for the other kinds.")
    org_domain = serializers.CharField(help_text="Okta org / Auth0 tenant domain.")
    aws_region = serializers.CharField()
    user_pool_id = serializers.CharField()
    client_id = serializers.CharField()
    has_client_secret = serializers.SerializerMethodField()
    scopes = serializers.ListField(source="scope_list", child=serializers.CharField())
    pkce = serializers.BooleanField()
    match_by = serializers.CharField()
    jit_provisioning = serializers.BooleanField()
    required = serializers.BooleanField()
    is_active = serializers.BooleanField()
    provider_id = serializers.CharField(help_text="Stable id in the callback URL.")
    callback_url = serializers.SerializerMethodField(
        help_text="The redirect URI to register at the provider."
    )
    domains = DomainClaimOutput(many=True, source="domains.all")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_has_client_secret(self, idp) -> bool:
        return bool(idp.client_secret)

    def get_callback_url(self, idp) -> str:
        return selectors.identity_provider_callback_url(idp)


class IdentityProviderInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ProviderKind.values)
    name = serializers.CharField(max_length=120)
    issuer = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    org_domain = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    aws_region = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    user_pool_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    client_id = serializers.CharField(max_length=255)
    client_secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        help_text="Write-only; never returned. On update, leave it out to keep the stored secret.",
    )
    scopes = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    pkce = serializers.BooleanField(required=False)
    match_by = serializers.ChoiceField(choices=MatchBy.values, required=False)
    jit_provisioning = serializers.BooleanField(required=False)
    required = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


def _changes(data: dict) -> dict:
    """Only what was sent (DRF's defaults of a partial update would otherwise blank fields)."""
    return {
        key: value
        for key, value in data.items()
        if key in {f.name for f in dataclasses.fields(services.IdentityProviderInput)}
    }


LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Text in the name, issuer or a domain."),
    OpenApiParameter("kind", str, enum=ProviderKind.values),
    OpenApiParameter("status", str, enum=["active", "disabled"]),
]


class IdentityProviderListCreateApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="identity_providers_list",
        parameters=LIST_PARAMETERS,
        responses={200: IdentityProviderOutput(many=True), **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id) -> Response:
        queryset = selectors.identity_provider_list(
            project=self.project,
            query=request.query_params.get("q", ""),
            kind=request.query_params.get("kind", ""),
            status=request.query_params.get("status", ""),
        )
        return paginated_response(self, queryset, IdentityProviderOutput)

    @extend_schema(
        tags=TAGS,
        operation_id="identity_providers_create",
        request=IdentityProviderInputSerializer,
        responses={201: IdentityProviderOutput, **PROJECT_API_ERRORS},
    )
    def post(self, request: Request, project_id) -> Response:
        data = _changes(parse_input(IdentityProviderInputSerializer, request.data))
        idp = services.identity_provider_create(
            project=self.project, actor=self.actor, data=services.IdentityProviderInput(**data)
        )
        return Response(IdentityProviderOutput(idp).data, status=status.HTTP_201_CREATED)


class IdentityProviderDetailApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="identity_providers_retrieve",
        responses={200: IdentityProviderOutput, **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id, idp_id) -> Response:
        idp = selectors.identity_provider_get(project=self.project, idp_id=idp_id)
        return Response(IdentityProviderOutput(idp).data)

    @extend_schema(
        tags=TAGS,
        operation_id="identity_providers_partial_update",
        request=IdentityProviderInputSerializer(partial=True),
        responses={200: IdentityProviderOutput, **PROJECT_API_ERRORS},
    )
    def patch(self, request: Request, project_id, idp_id) -> Response:
        idp = selectors.identity_provider_get(project=self.project, idp_id=idp_id)
        changes = _changes(parse_input(IdentityProviderInputSerializer, request.data, partial=True))
        data = dataclasses.replace(services.identity_provider_input(idp), **changes)
        idp = services.identity_provider_update(identity_provider=idp, actor=self.actor, data=data)
        return Response(
            IdentityProviderOutput(selectors.identity_provider_get(project=self.project, idp_id=idp.pk)).data
        )

    @extend_schema(
        tags=TAGS, operation_id="identity_providers_destroy", responses={204: None, **PROJECT_API_ERRORS}
    )
    def delete(self, request: Request, project_id, idp_id) -> Response:
        idp = selectors.identity_provider_get(project=self.project, idp_id=idp_id)
        services.identity_provider_delete(identity_provider=idp, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectionReportOutput(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField(help_text="One sentence: connected, or the first thing wrong.")
    problems = serializers.ListField(child=serializers.CharField())
    details = serializers.DictField(help_text="What was found: issuer, endpoints, jwks_uri, signing_keys.")


class IdentityProviderTestApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="identity_providers_test",
        request=None,
        responses={200: ConnectionReportOutput, **PROJECT_API_ERRORS},
        description="Fetches the provider's discovery document and JWKS; `ok` false says what is wrong.",
    )
    def post(self, request: Request, project_id, idp_id) -> Response:
        idp = selectors.identity_provider_get(project=self.project, idp_id=idp_id)
        report = services.identity_provider_test(identity_provider=idp)
        return Response(ConnectionReportOutput(report).data)


class DomainClaimInputSerializer(serializers.Serializer):
    domain = serializers.CharField(max_length=300)


class DomainClaimCreateApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="identity_provider_domains_create",
        request=DomainClaimInputSerializer,
        responses={201: DomainClaimOutput, **PROJECT_API_ERRORS},
        description="Claims a domain (unverified). Publish `txt_record_value` as a TXT record, then verify.",
    )
    def post(self, request: Request, project_id, idp_id) -> Response:
        idp = selectors.identity_provider_get(project=self.project, idp_id=idp_id)
        data = parse_input(DomainClaimInputSerializer, request.data)
        claim = services.domain_claim_create(identity_provider=idp, actor=self.actor, domain=data["domain"])
        return Response(DomainClaimOutput(claim).data, status=status.HTTP_201_CREATED)


class DomainClaimVerifyApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="identity_provider_domains_verify",
        request=None,
        responses={200: DomainClaimOutput, **PROJECT_API_ERRORS},
        description="Looks up the TXT record; 400 `domain_not_verified` says what DNS answered.",
    )
    def post(self, request: Request, project_id, idp_id, domain_id) -> Response:
        idp = selectors.identity_provider_get(project=self.project, idp_id=idp_id)
        claim = selectors.domain_claim_get(identity_provider=idp, domain_id=domain_id)
        claim = services.domain_claim_verify_by_dns(claim=claim, actor=self.actor)
        return Response(DomainClaimOutput(claim).data)


class DomainClaimDetailApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="identity_provider_domains_destroy",
        responses={204: None, **PROJECT_API_ERRORS},
    )
    def delete(self, request: Request, project_id, idp_id, domain_id) -> Response:
        idp = selectors.identity_provider_get(project=self.project, idp_id=idp_id)
        claim = selectors.domain_claim_get(identity_provider=idp, domain_id=domain_id)
        services.domain_claim_delete(claim=claim, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
