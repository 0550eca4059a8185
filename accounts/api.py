"""REST API v1 for projects, memberships and access policies.

Thin: each API parses its input, calls `accounts.services` / `accounts.selectors`
and renders the result. Errors (ApplicationError, Http404, PermissionDenied,
validation) are rendered in the one envelope by `identity.api.exception_handler`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import api_helpers, selectors, services
from accounts.api_permissions import automation_client
from accounts.api_serializers import (
    AccessPolicyOutputSerializer,
    AccessPolicyRuleSerializer,
    MembershipOutputSerializer,
    ProjectOutputSerializer,
)
from accounts.models import Role, SignInMethod
from identity.api import Pagination, ProjectAdminApi, paginated_response, parse_input
from identity.api_schema import error_responses

# --- Projects -------------------------------------------------------------------------------------


class ProjectListApi(APIView):
    pagination_class = Pagination
    OutputSerializer = ProjectOutputSerializer

    @extend_schema(
        tags=["projects"],
        operation_id="projects_list",
        summary="Projects you are an active member of",
        responses={200: OutputSerializer(many=True), **error_responses(401, 404)},  # 404: no such page
    )
    def get(self, request: Request) -> Response:
        projects = api_helpers.project_list_for_caller(
            user=request.user,
            only_project_id=api_helpers.token_project_id(request),
            client=automation_client(request),
        )
        return paginated_response(self, projects, self.OutputSerializer)


class ProjectDetailApi(APIView):
    OutputSerializer = ProjectOutputSerializer

    @extend_schema(
        tags=["projects"],
        operation_id="projects_retrieve",
        summary="One of your projects",
        responses={200: OutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request: Request, project_id) -> Response:
        project = api_helpers.project_get_for_caller(
            user=request.user,
            project_id=project_id,
            only_project_id=api_helpers.token_project_id(request),
            client=automation_client(request),
        )
        return Response(self.OutputSerializer(project).data)


@extend_schema_serializer(component_name="ProjectSettings")
class ProjectSettingsSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    display_name = serializers.CharField(max_length=120, allow_blank=True)
    logo_url = serializers.URLField(allow_blank=True)
    support_email = serializers.EmailField(allow_blank=True)
    from_email = serializers.EmailField(allow_blank=True)
    brand_color = serializers.RegexField(
        r"^#[0-9a-fA-F]{6}$", allow_blank=True, help_text="The accent colour of the sign-in page and emails."
    )
    allowed_sign_in_methods = serializers.ListField(
        child=serializers.ChoiceField(choices=SignInMethod.choices), allow_empty=False
    )
    mfa_required = serializers.BooleanField(
        help_text="Members need an authenticator app or passkey; without one they get no tokens."
    )
    default_role = serializers.ChoiceField(
        choices=[("member", "Member"), ("admin", "Admin")],
        help_text="The role of people who join by signing up or through an identity provider.",
    )
    default_access_policy = serializers.UUIDField(source="default_access_policy_id", allow_null=True)
    allow_self_signup = serializers.BooleanField()
    fhir_base_url = serializers.CharField(
        max_length=500,
        allow_blank=True,
        help_text="The FHIR server's base URL: /o/authorize then requires `aud` to be it, access tokens "
        "carry it as `aud`, and the ID token's `fhirUser` is built on it.",
    )
    session_idle_minutes = serializers.IntegerField(
        allow_null=True,
        min_value=5,
        max_value=7 * 24 * 60,
        help_text="Sign members out after this inactivity.",
    )
    session_max_hours = serializers.IntegerField(
        allow_null=True, min_value=1, max_value=90 * 24, help_text="Sign members out after this long in all."
    )


class ProjectSettingsApi(ProjectAdminApi):
    OutputSerializer = ProjectSettingsSerializer

    @extend_schema(
        tags=["projects"],
        operation_id="projects_settings_retrieve",
        summary="The project's settings (owners and admins)",
        responses={200: OutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, project_id) -> Response:
        return Response(self.OutputSerializer(self.project).data)

    @extend_schema(
        tags=["projects"],
        operation_id="projects_settings_update",
        summary="Change the fields sent",
        description=(
            "Owners and admins change names, branding, the default access policy and the FHIR base "
            "URL; only owners change the sign-in policy (sign-in methods, MFA required, sign-up, "
            "default role, session limits): 403 `permission_denied` otherwise."
        ),
        request=ProjectSettingsSerializer(partial=True),
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, project_id) -> Response:
        data = parse_input(ProjectSettingsSerializer, request.data, partial=True)
        if "default_access_policy_id" in data:
            policy_id = data.pop("default_access_policy_id")
            data["default_access_policy"] = selectors.access_policy_from_input(
                project=self.project, policy_id=policy_id, field="default_access_policy"
            )
        project = services.project_update(project=self.project, actor=self.actor, **data)
        return Response(self.OutputSerializer(project).data)


# --- Memberships ----------------------------------------------------------------------------------


class MembershipListApi(ProjectAdminApi):
    pagination_class = Pagination
    OutputSerializer = MembershipOutputSerializer

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(
            required=False, allow_blank=True, default="", help_text="Search name, email and external ID."
        )
        role = serializers.ChoiceField(choices=Role.choices, required=False, allow_blank=True, default="")
        status = serializers.ChoiceField(
            choices=["active", "invited", "inactive"],
            required=False,
            allow_blank=True,
            default="",
            help_text="`active`: members who arrived; `invited`: invited, not arrived yet (an open "
            "invitation); `inactive`: deactivated.",
        )
        sort = serializers.ChoiceField(
            choices=list(selectors.MEMBERSHIP_SORTS), required=False, allow_blank=True, default="-created"
        )

    @extend_schema(
        tags=["memberships"],
        operation_id="memberships_list",
        summary="Members of a project, searched, filtered and sorted",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, project_id) -> Response:
        filters = parse_input(self.FilterSerializer, request.query_params)
        memberships = selectors.membership_list(
            project=self.project,
            query=filters["q"],
            role=filters["role"],
            status=filters["status"],
            sort=filters["sort"],
        )
        return paginated_response(self, memberships, self.OutputSerializer)


class MembershipDetailApi(ProjectAdminApi):
    OutputSerializer = MembershipOutputSerializer

    @extend_schema_serializer(component_name="MembershipUpdate")
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices, required=False)
        access_policy = serializers.UUIDField(
            required=False, allow_null=True, help_text="An access policy of this project, or null for none."
        )
        access_parameters = serializers.DictField(
            child=serializers.CharField(allow_blank=True),
            required=False,
            help_text="Values for the `%name` placeholders of the policy's rules.",
        )
        external_id = serializers.CharField(required=False, allow_blank=True, max_length=255)
        profile = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=100,
            help_text="A FHIR reference such as Practitioner/123.",
        )

    @extend_schema(
        tags=["memberships"],
        operation_id="memberships_retrieve",
        responses={200: OutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, project_id, membership_id) -> Response:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        return Response(self.OutputSerializer(membership).data)

    @extend_schema(
        tags=["memberships"],
        operation_id="memberships_partial_update",
        summary="Change role, access policy, parameters, external ID or profile",
        description="Only the fields sent change. Only owners grant or remove the owner role (403); "
        "the last active owner cannot be demoted (409 `last_owner`).",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, project_id, membership_id) -> Response:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        changes = parse_input(self.InputSerializer, request.data, partial=True)
        if "access_policy" in changes:
            changes["access_policy"] = selectors.access_policy_from_input(
                project=self.project, policy_id=changes["access_policy"]
            )
        membership = services.membership_update(membership=membership, actor=self.actor, **changes)
        return Response(self.OutputSerializer(membership).data)


class MembershipDeactivateApi(ProjectAdminApi):
    OutputSerializer = MembershipOutputSerializer

    @extend_schema(
        tags=["memberships"],
        operation_id="memberships_deactivate",
        summary="Cut a member's access to the project",
        description="The last active owner cannot be deactivated (409 `last_owner`).",
        request=None,
        responses={200: OutputSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id, membership_id) -> Response:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        membership = services.membership_deactivate(membership=membership, actor=self.actor)
        return Response(self.OutputSerializer(membership).data)


class MembershipSignOutApi(ProjectAdminApi):
    @extend_schema(
        tags=["memberships"],
        operation_id="memberships_sign_out",
        summary="Sign a member out of the project",
        description=(
            "Every token the project's apps hold for the member, and their consents to those apps, "
            "are revoked at once (introspection inactive, userinfo refused, refresh fails). The "
            "membership stays active: the member can sign in again."
        ),
        request=None,
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def post(self, request: Request, project_id, membership_id) -> Response:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        services.membership_sign_out(membership=membership, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipMfaResetApi(ProjectAdminApi):
    @extend_schema(
        tags=["memberships"],
        operation_id="memberships_mfa_reset",
        summary="Reset a member's two-factor authentication",
        description=(
            "Removes the member's authenticator apps, passkeys and recovery codes, ends their "
            "sessions and tokens, and emails them. 409 `conflict` when they have none, or when they "
            "also belong to another project (an operator resets those); 403 when an admin targets "
            "an owner."
        ),
        request=None,
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id, membership_id) -> Response:
        from accounts.services.mfa import membership_mfa_reset

        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        membership_mfa_reset(membership=membership, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipUnlockApi(ProjectAdminApi):
    @extend_schema(
        tags=["memberships"],
        operation_id="memberships_unlock",
        summary="Lift the member's sign-in lock after failed attempts",
        description=(
            "After too many failed sign-ins (or MFA codes) an account is locked for a while "
            "(docs/SECURITY.md, 'Brute-force protection'). This ends the lock and the delays at "
            "once; recorded as account.unlocked. Answers 204 whether or not the account was locked."
        ),
        request=None,
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def post(self, request: Request, project_id, membership_id) -> Response:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        services.membership_unlock(membership=membership, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipReactivateApi(ProjectAdminApi):
    OutputSerializer = MembershipOutputSerializer

    @extend_schema(
        tags=["memberships"],
        operation_id="memberships_reactivate",
        summary="Give a deactivated member access again",
        request=None,
        responses={200: OutputSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id, membership_id) -> Response:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        membership = services.membership_reactivate(membership=membership, actor=self.actor)
        return Response(self.OutputSerializer(membership).data)


# --- Access policies ------------------------------------------------------------------------------


class AccessPolicyListApi(ProjectAdminApi):
    pagination_class = Pagination
    OutputSerializer = AccessPolicyOutputSerializer

    @extend_schema_serializer(component_name="AccessPolicyCreate")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        rules = AccessPolicyRuleSerializer(many=True, required=False, default=list)

    @extend_schema(
        tags=["access-policies"],
        operation_id="access_policies_list",
        parameters=[OpenApiParameter("q", str, description="Search by name.")],
        responses={200: OutputSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, project_id) -> Response:
        policies = selectors.access_policy_list(project=self.project, query=request.query_params.get("q", ""))
        return paginated_response(self, policies, self.OutputSerializer)

    @extend_schema(
        tags=["access-policies"],
        operation_id="access_policies_create",
        description="Invalid rules are reported together, keyed `rules.<index>.<field>`; "
        "a name already used in the project is 409 `conflict`.",
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id) -> Response:
        data = parse_input(self.InputSerializer, request.data)
        policy = services.access_policy_create(project=self.project, actor=self.actor, **data)
        policy = selectors.access_policy_get(project=self.project, policy_id=policy.pk)
        return Response(self.OutputSerializer(policy).data, status=status.HTTP_201_CREATED)


class AccessPolicyDetailApi(ProjectAdminApi):
    OutputSerializer = AccessPolicyOutputSerializer

    @extend_schema_serializer(component_name="AccessPolicyUpdate")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        rules = AccessPolicyRuleSerializer(many=True, help_text="Replaces all the policy's rules.")

    @extend_schema(
        tags=["access-policies"],
        operation_id="access_policies_retrieve",
        responses={200: OutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, project_id, policy_id) -> Response:
        policy = selectors.access_policy_get(project=self.project, policy_id=policy_id)
        return Response(self.OutputSerializer(policy).data)

    @extend_schema(
        tags=["access-policies"],
        operation_id="access_policies_update",
        summary="Replace a policy (name, description and all rules)",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def put(self, request: Request, project_id, policy_id) -> Response:
        return self._update(policy_id, partial=False)

    @extend_schema(
        tags=["access-policies"],
        operation_id="access_policies_partial_update",
        summary="Change a policy; `rules`, when sent, replace all rules",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, project_id, policy_id) -> Response:
        return self._update(policy_id, partial=True)

    def _update(self, policy_id, *, partial: bool) -> Response:
        policy = selectors.access_policy_get(project=self.project, policy_id=policy_id)
        changes = parse_input(self.InputSerializer, self.request.data, partial=partial)
        services.access_policy_update(policy=policy, actor=self.actor, **changes)
        policy = selectors.access_policy_get(project=self.project, policy_id=policy.pk)
        return Response(self.OutputSerializer(policy).data)

    @extend_schema(
        tags=["access-policies"],
        operation_id="access_policies_destroy",
        description="A policy still used by members, clients or as the project default is refused "
        "(409 `policy_in_use`).",
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request: Request, project_id, policy_id) -> Response:
        policy = selectors.access_policy_get(project=self.project, policy_id=policy_id)
        services.access_policy_delete(policy=policy, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
