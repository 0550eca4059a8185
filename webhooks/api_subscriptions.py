"""REST API for a project's outbound event subscriptions and their delivery log
(routed by webhooks/api_urls.py)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from identity.api import ProjectAdminApi, paginated_response, parse_input
from identity.api_schema import PROJECT_API_ERRORS
from notifications.delivery import DeliveryStatus
from webhooks import subscriptions
from webhooks.constants import OutboundEventType

TAGS = ["webhooks"]


class SubscriptionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why the server disabled it (410, a day of failures).")
    failing_since = serializers.DateTimeField(allow_null=True)
    secret_rotated_at = serializers.DateTimeField(allow_null=True)
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then deliveries are also signed with the previous secret."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SubscriptionCreatedOutput(SubscriptionOutput):
    secret = serializers.CharField(help_text="The whsec_ signing secret, shown only in this response.")


class SubscriptionSecretOutput(serializers.Serializer):
    subscription = SubscriptionOutput()
    secret = serializers.CharField(help_text="The new whsec_ signing secret, shown only in this response.")


class SubscriptionInput(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=OutboundEventType.values), allow_empty=False
    )
    is_active = serializers.BooleanField(required=False, default=True)


class SubscriptionUpdateInput(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=OutboundEventType.values), allow_empty=False, required=False
    )
    is_active = serializers.BooleanField(required=False)


class DeliveryOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="The `webhook-id` header of every attempt.")
    event_type = serializers.CharField()
    status = serializers.CharField(help_text="queued, sending, sent, failed (will retry) or dead (gave up).")
    attempts = serializers.IntegerField()
    last_response_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


class SubscriptionListCreateApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="event_subscriptions_list",
        responses={200: SubscriptionOutput(many=True), **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id) -> Response:
        return paginated_response(
            self, subscriptions.subscription_list(project=self.project), SubscriptionOutput
        )

    @extend_schema(
        tags=TAGS,
        operation_id="event_subscriptions_create",
        request=SubscriptionInput,
        responses={201: SubscriptionCreatedOutput, **PROJECT_API_ERRORS},
    )
    def post(self, request: Request, project_id) -> Response:
        data = parse_input(SubscriptionInput, request.data)
        issued = subscriptions.subscription_create(
            project=self.project,
            actor=self.actor,
            url=data["url"],
            events=data["events"],
            is_active=data["is_active"],
        )
        body = {**SubscriptionOutput(issued.subscription).data, "secret": issued.secret}
        return _no_store(Response(body, status=status.HTTP_201_CREATED))


class SubscriptionDetailApi(ProjectAdminApi):
    def _get(self, subscription_id):
        return subscriptions.subscription_get(project=self.project, subscription_id=subscription_id)

    @extend_schema(
        tags=TAGS,
        operation_id="event_subscriptions_retrieve",
        responses={200: SubscriptionOutput, **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id, subscription_id) -> Response:
        return Response(SubscriptionOutput(self._get(subscription_id)).data)

    @extend_schema(
        tags=TAGS,
        operation_id="event_subscriptions_partial_update",
        request=SubscriptionUpdateInput,
        responses={200: SubscriptionOutput, **PROJECT_API_ERRORS},
    )
    def patch(self, request: Request, project_id, subscription_id) -> Response:
        subscription = self._get(subscription_id)
        data = parse_input(SubscriptionUpdateInput, request.data, partial=True)
        subscription = subscriptions.subscription_update(subscription=subscription, actor=self.actor, **data)
        return Response(SubscriptionOutput(subscription).data)

    @extend_schema(
        tags=TAGS, operation_id="event_subscriptions_destroy", responses={204: None, **PROJECT_API_ERRORS}
    )
    def delete(self, request: Request, project_id, subscription_id) -> Response:
        subscriptions.subscription_delete(subscription=self._get(subscription_id), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionRotateSecretApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="event_subscriptions_rotate_secret",
        request=None,
        responses={200: SubscriptionSecretOutput, **PROJECT_API_ERRORS},
        description=(
            "A new signing secret, shown once. For 24 hours every delivery is signed with both the "
            "new and the previous secret (two `v1,` signatures), so the receiver can switch."
        ),
    )
    def post(self, request: Request, project_id, subscription_id) -> Response:
        subscription = subscriptions.subscription_get(project=self.project, subscription_id=subscription_id)
        secret = subscriptions.subscription_rotate_secret(subscription=subscription, actor=self.actor)
        subscription.refresh_from_db()
        return _no_store(Response({"subscription": SubscriptionOutput(subscription).data, "secret": secret}))


class DeliveryListApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="event_deliveries_list",
        parameters=[OpenApiParameter("status", str, enum=DeliveryStatus.values)],
        responses={200: DeliveryOutput(many=True), **PROJECT_API_ERRORS},
    )
    def get(self, request: Request, project_id, subscription_id) -> Response:
        subscription = subscriptions.subscription_get(project=self.project, subscription_id=subscription_id)
        queryset = subscriptions.delivery_list(
            subscription=subscription, status=request.query_params.get("status", "")
        )
        return paginated_response(self, queryset, DeliveryOutput)


class DeliveryReplayApi(ProjectAdminApi):
    @extend_schema(
        tags=TAGS,
        operation_id="event_deliveries_replay",
        request=None,
        responses={202: DeliveryOutput, **PROJECT_API_ERRORS},
        description="Send the delivery again (same webhook-id). 409 while it is queued or sending, "
        "or when the subscription is disabled.",
    )
    def post(self, request: Request, project_id, subscription_id, delivery_id) -> Response:
        subscription = subscriptions.subscription_get(project=self.project, subscription_id=subscription_id)
        delivery = subscriptions.delivery_replay(
            delivery=subscriptions.delivery_get(subscription=subscription, delivery_id=delivery_id),
            actor=self.actor,
        )
        return Response(DeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)
