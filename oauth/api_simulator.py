"""REST API of the access simulator (routed by oauth/api_urls.py; the logic: oauth/simulator.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from identity.api import ProjectAdminApi, parse_input
from identity.api_schema import error_responses
from oauth import simulator


class AccessSimulationScopeSerializer(serializers.Serializer):
    scope = serializers.CharField()
    description = serializers.CharField(help_text="What the scope lets an app do, in plain words.")


class AccessSimulationMembershipSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    email = serializers.CharField(source="user.email", allow_null=True)
    name = serializers.CharField(source="user.get_full_name")
    is_active = serializers.BooleanField()


class AccessSimulationClientSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    client_id = serializers.CharField()
    name = serializers.CharField()


class AccessSimulationOutcomeSerializer(serializers.Serializer):
    requested = serializers.CharField()
    granted = AccessSimulationScopeSerializer(many=True)
    reason = serializers.CharField(help_text="Why not all of it was granted; empty: as asked.")


class AccessSimulationIgnoredSerializer(serializers.Serializer):
    scope = serializers.CharField()
    reason = serializers.CharField()


class AccessSimulationUnfilledRuleSerializer(serializers.Serializer):
    rule = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField())


class AccessSimulationPolicySerializer(serializers.Serializer):
    held_by = serializers.ChoiceField(choices=["membership", "client"])
    id = serializers.UUIDField(allow_null=True)
    name = serializers.CharField(help_text="Empty when no access policy applies.")
    scopes = serializers.ListField(
        child=serializers.CharField(), help_text="The policy as SMART v2 scopes, parameters filled in."
    )
    summary = serializers.CharField(help_text="What the policy allows, in plain words.")
    unfilled_rules = AccessSimulationUnfilledRuleSerializer(
        many=True, help_text="Rules granting nothing: the member has no value for their parameters."
    )


class AccessSimulatorApi(ProjectAdminApi):
    @extend_schema_serializer(component_name="AccessSimulationInput")
    class InputSerializer(serializers.Serializer):
        membership_id = serializers.UUIDField(
            required=False, allow_null=True, default=None, help_text="A membership of this project."
        )
        client_id = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            help_text="The OAuth client_id of a client of this project.",
        )
        scope = serializers.CharField(
            max_length=4000, help_text="The scope string an app would send, space-separated."
        )

        def validate(self, data):
            if data["membership_id"] is None and not data["client_id"]:
                raise serializers.ValidationError("Send membership_id, client_id, or both.")
            return data

    @extend_schema_serializer(component_name="AccessSimulation")
    class OutputSerializer(serializers.Serializer):
        grant_type = serializers.ChoiceField(choices=["authorization_code", "client_credentials"])
        requested = serializers.CharField()
        membership = AccessSimulationMembershipSerializer(allow_null=True)
        client = AccessSimulationClientSerializer(
            allow_null=True, help_text="null: any app (only the access policy limits)."
        )
        any_app = serializers.BooleanField()
        granted = AccessSimulationScopeSerializer(many=True)
        outcomes = AccessSimulationOutcomeSerializer(
            many=True, help_text="Each requested scope that was understood, in order."
        )
        ignored = AccessSimulationIgnoredSerializer(
            many=True, help_text="Scopes that are not understood, with the reason."
        )
        forbidden = serializers.ListField(
            child=serializers.CharField(), help_text="Named scopes this app may not ask for."
        )
        policy = AccessSimulationPolicySerializer()
        notes = serializers.ListField(
            child=serializers.CharField(), help_text="What else would stop the tokens (disabled app, …)."
        )

    @extend_schema(
        tags=["access simulator"],
        operation_id="access_simulator_run",
        summary="What a member or a client would be granted for a scope string, and why",
        description=(
            "Nothing is written. With `membership_id` and `client_id`: the member signing in to "
            "that app. With `membership_id` only: the member signing in to an app that may ask for "
            "every scope, so only their access policy limits the result. With `client_id` only: "
            "client credentials under the client's own access policy. An id that is unknown or "
            "belongs to another project is a 400 naming the field."
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, project_id) -> Response:
        data = parse_input(self.InputSerializer, request.data)
        membership = simulator.simulation_membership_from_input(
            project=self.project, membership_id=data["membership_id"]
        )
        client = simulator.simulation_client_from_input(project=self.project, client_id=data["client_id"])
        result = simulator.access_simulate(
            project=self.project, scope=data["scope"], membership=membership, client=client
        )
        return Response(self.OutputSerializer(result).data)
