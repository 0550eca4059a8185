"""REST API for a project's inbound webhook endpoints and their events (routed by webhooks/api_urls.py)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from identity.api import ProjectAdminApi, paginated_response, parse_input
from identity.api_schema import PROJECT_API_ERRORS
from webhooks import selectors, services
from webhooks.constants import WebhookScheme
from webhooks.handlers import handler_choices
from webhooks.models import InboundEventStatus

TAGS = ["webhooks"]


class EndpointOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    scheme = serializers.CharField()
    handler = serializers.CharField()
    client_id = serializers.CharField(
        source="client.client_id", allow_null=True, default=None, help_text="`basic`: the OAuth client."
    )
    url_prefix = serializers.SerializerMethodField(
        help_text="The start of the receiving URL, to recognise it (the full URL is shown only at creation)."
    )
    has_secret = serializers.SerializerMethodField()
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="While a rotated-out secret still verifies."
    )
    secret_rotated_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_url_prefix(self, endpoint) -> str:
        return f"{services.endpoint_url(endpoint.token_prefix)[:-1]}…"

    def get_has_secret(self, endpoint) -> bool:
        return bool(endpoint.secret)


class EndpointCreatedOutput(EndpointOutput):
    url = serializers.CharField(
        help_text="Where the sender posts. Shown only in this response: store it now."
    )
    secret = serializers.CharField(
        allow_null=True,
        help_text=(
            "The generated secret (Standard Webhooks signing secret, or the Okta Authorization header "
            "value), shown only in this response. Null when you gave one, for basic, and for Stripe "
            "(paste Stripe's signing secret with PATCH)."
        ),
    )


class EndpointSecretOutput(serializers.Serializer):
    endpoint = EndpointOutput()
    secret = serializers.CharField(allow_null=True, help_text="The generated secret, shown only here.")


class EndpointInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    scheme = serializers.ChoiceField(choices=WebhookScheme.values)
    handler = serializers.CharField(
        max_length=64, help_text="A registered handler: `generic`, `okta_user_lifecycle` (okta only)."
    )
    client_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="`basic` only: one of the project's clients.",
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        help_text=(
            "Write-only. Stripe: the endpoint's signing secret (whsec_…). Standard Webhooks / Okta: "
            "leave out to have one generated."
        ),
    )
    is_active = serializers.BooleanField(required=False, default=True)


class EndpointUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    handler = serializers.CharField(max_length=64, required=False)
    client_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text="Replaces the secret at once (rotate-secret keeps the previous one valid for 24 h).",
    )
    is_active = serializers.BooleanField(required=False)
    scheme = serializers.CharField(required=False, help_text="Cannot change: create another endpoint.")

    def validate_scheme(self, value):
        raise serializers.ValidationError("The scheme of an endpoint cannot change; create another endpoint.")


class RotateSecretInputSerializer(serializers.Serializer):
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text="Stripe: the new signing secret (required). Others: leave out to have one generated.",
    )


class EventOutput(serializers.Serializer):
    id = serializers.UUIDField()
    event_id = serializers.CharField(
        help_text="The sender's id: Stripe `id`, `webhook-id`, Okta `uuid`, or a body hash."
    )
    event_type = serializers.CharField()
    status = serializers.CharField(
        help_text="queued, sending (processing), sent (processed), failed (will retry) or dead (gave up)."
    )
    attempts = serializers.IntegerField()
    outcome = serializers.CharField(help_text="What the handler did.")
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(source="sent_at", allow_null=True)
    created_at = serializers.DateTimeField(help_text="When it was received.")


class EventDetailOutput(EventOutput):
    headers = serializers.DictField(child=serializers.CharField(), help_text="The stored request headers.")
    body = serializers.CharField(help_text="The event's body as received.")
    remote_addr = serializers.CharField(allow_null=True)


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


class EndpointListCreateApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="webhook_endpoints_list",
        parameters=[OpenApiParameter("q", str, description="Text in the name.")],
        responses={200: EndpointOutput(many=True), **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id) -> Response:
        queryset = selectors.endpoint_list(project=self.project, query=request.query_params.get("q", ""))
        return paginated_response(self, queryset, EndpointOutput)

    @extend_schema(
        tags=TAGS,
        operation_id="webhook_endpoints_create",
        request=EndpointInputSerializer,
        responses={201: EndpointCreatedOutput, **PROJECT_API_ERRORS},
        description="Handlers: " + ", ".join(f"`{name}` ({label})" for name, label in handler_choices()),
    )
    def post(self, request: Request, project_id) -> Response:
        data = parse_input(EndpointInputSerializer, request.data)
        issued = services.endpoint_create(
            project=self.project,
            actor=self.actor,
            name=data["name"],
            scheme=data["scheme"],
            handler=data["handler"],
            client_id=data.get("client_id") or None,
            secret=data.get("secret") or None,
            is_active=data["is_active"],
        )
        body = {**EndpointOutput(issued.endpoint).data, "url": issued.url, "secret": issued.secret}
        return _no_store(Response(body, status=status.HTTP_201_CREATED))


class EndpointDetailApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="webhook_endpoints_retrieve",
        responses={200: EndpointOutput, **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id, endpoint_id) -> Response:
        endpoint = selectors.endpoint_get(project=self.project, endpoint_id=endpoint_id)
        return Response(EndpointOutput(endpoint).data)

    @extend_schema(
        tags=TAGS,
        operation_id="webhook_endpoints_partial_update",
        request=EndpointUpdateSerializer,
        responses={200: EndpointOutput, **PROJECT_API_ERRORS},
    )
    def patch(self, request: Request, project_id, endpoint_id) -> Response:
        endpoint = selectors.endpoint_get(project=self.project, endpoint_id=endpoint_id)
        data = parse_input(EndpointUpdateSerializer, request.data, partial=True)
        if "secret" in data and not data["secret"]:
            data.pop("secret")  # blank keeps the stored secret
        endpoint = services.endpoint_update(endpoint=endpoint, actor=self.actor, **data)
        return Response(
            EndpointOutput(selectors.endpoint_get(project=self.project, endpoint_id=endpoint.pk)).data
        )

    @extend_schema(
        tags=TAGS, operation_id="webhook_endpoints_destroy", responses={204: None, **PROJECT_API_ERRORS}
    )
    def delete(self, request: Request, project_id, endpoint_id) -> Response:
        endpoint = selectors.endpoint_get(project=self.project, endpoint_id=endpoint_id)
        services.endpoint_delete(endpoint=endpoint, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateSecretApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="webhook_endpoints_rotate_secret",
        request=RotateSecretInputSerializer,
        responses={200: EndpointSecretOutput, **PROJECT_API_ERRORS},
        description=(
            "A new secret (generated and shown once, or Stripe's new one as given); the previous "
            "secret keeps verifying for 24 hours. Basic endpoints: 409 (rotate the client's secret)."
        ),
    )
    def post(self, request: Request, project_id, endpoint_id) -> Response:
        endpoint = selectors.endpoint_get(project=self.project, endpoint_id=endpoint_id)
        data = parse_input(RotateSecretInputSerializer, request.data)
        secret = services.endpoint_rotate_secret(
            endpoint=endpoint, actor=self.actor, secret=data.get("secret") or None
        )
        endpoint = selectors.endpoint_get(project=self.project, endpoint_id=endpoint.pk)
        return _no_store(Response({"endpoint": EndpointOutput(endpoint).data, "secret": secret}))


class EventListApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="webhook_events_list",
        parameters=[OpenApiParameter("status", str, enum=InboundEventStatus.values)],
        responses={200: EventOutput(many=True), **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id, endpoint_id) -> Response:
        endpoint = selectors.endpoint_get(project=self.project, endpoint_id=endpoint_id)
        queryset = selectors.event_list(endpoint=endpoint, status=request.query_params.get("status", ""))
        return paginated_response(self, queryset, EventOutput)


class EventDetailApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="webhook_events_retrieve",
        responses={200: EventDetailOutput, **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id, endpoint_id, event_pk) -> Response:
        endpoint = selectors.endpoint_get(project=self.project, endpoint_id=endpoint_id)
        return _no_store(
            Response(EventDetailOutput(selectors.event_get(endpoint=endpoint, event_pk=event_pk)).data)
        )


class EventReplayApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="webhook_events_replay",
        request=None,
        responses={202: EventOutput, **PROJECT_API_ERRORS},
        description="Process the event again (queued from scratch). 409 while it is queued or processing.",
    )
    def post(self, request: Request, project_id, endpoint_id, event_pk) -> Response:
        endpoint = selectors.endpoint_get(project=self.project, endpoint_id=endpoint_id)
        event = services.event_replay(
            event=selectors.event_get(endpoint=endpoint, event_pk=event_pk), actor=self.actor
        )
        return Response(EventOutput(event).data, status=status.HTTP_202_ACCEPTED)
