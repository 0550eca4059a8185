"""Shapes shared by several accounts APIs (the error envelope is identity/api_schema.py's).

Serializers here only describe data (no `create`/`update`): the APIs in
`accounts/api.py` validate with them, call a service and render the result.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from accounts.models import Role


@extend_schema_serializer(component_name="Project")
class ProjectOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    display_name = serializers.CharField()
    role = serializers.ChoiceField(
        source="my_role", choices=Role.choices, help_text="Your role in this project."
    )


@extend_schema_serializer(component_name="UserSummary")
class UserSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField(allow_null=True)
    first_name = serializers.CharField()
    last_name = serializers.CharField()


@extend_schema_serializer(component_name="Membership")
class MembershipOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    user = UserSummarySerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    is_active = serializers.BooleanField()
    access_policy = serializers.UUIDField(source="access_policy_id", allow_null=True)
    access_parameters = serializers.DictField(child=serializers.CharField())
    external_id = serializers.CharField()
    profile = serializers.CharField(help_text="A FHIR reference such as `Practitioner/123`, or empty.")
    invited_by = serializers.UUIDField(source="invited_by_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    deactivated_at = serializers.DateTimeField(allow_null=True)


@extend_schema_serializer(component_name="AccessPolicyRule")
class AccessPolicyRuleSerializer(serializers.Serializer):
    """One rule, in and out. Validation of the values is the service's (errors keyed `rules.<i>.<field>`)."""

    resource_type = serializers.CharField(help_text="A FHIR resource type such as `Patient`, or `*`.")
    interactions = serializers.CharField(help_text="SMART v2 letters of `cruds`, in order, e.g. `rs`.")
    criteria = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="FHIR search string; `%name` placeholders allowed.",
    )


@extend_schema_serializer(component_name="AccessPolicy")
class AccessPolicyOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    rules = AccessPolicyRuleSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
