"""What the OpenAPI document says about every app's API: the error envelope and auth schemes.

APIs document their errors with `error_responses(...)` (or `PROJECT_API_ERRORS` for the
project-scoped ones); the extensions below are registered when this module is imported,
which every API module does through `error_responses`.
"""

from __future__ import annotations

from drf_spectacular.drainage import has_override
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers

# --- The error envelope (identity/api.py renders every error in this shape) ----------------------


@extend_schema_serializer(component_name="ErrorBody")
class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable code, e.g. `validation_failed`.")
    message = serializers.CharField(help_text="For people; may change.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Input field (dotted for nested input, e.g. `rules.0.interactions`) → messages.",
    )


@extend_schema_serializer(component_name="ErrorEnvelope")
class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


_ERROR_DESCRIPTIONS = {
    400: "Invalid input (`validation_failed`, with `fields`).",
    401: "Not signed in and no valid bearer token (`not_authenticated`).",
    403: "A member without the admin or owner role (`permission_denied`).",
    404: "No such object, or it belongs to a project you are not a member of (`not_found`).",
    409: "Refused by a business rule, e.g. `conflict`, `last_owner` or `policy_in_use`.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses=...)` entries for the given error statuses, all with the envelope."""
    return {
        code: OpenApiResponse(response=ErrorEnvelopeSerializer, description=_ERROR_DESCRIPTIONS[code])
        for code in statuses
    }


# Every error a project-scoped operation (identity.api.ProjectAdminApi) may answer.
PROJECT_API_ERRORS = error_responses(400, 401, 403, 404, 409)


# --- OpenAPI extensions (registered on import) ----------------------------------------------------


class NestedSerializerNameExtension(OpenApiSerializerExtension):
    """Name nested `<Entity><Action>Api.InputSerializer` components after their API.

    Every API has an `InputSerializer`/`OutputSerializer`, so drf-spectacular's
    default (the class name) makes them all "Input"/"Output" and collide. A
    nested serializer without an explicit `component_name` becomes e.g.
    `BulkInviteCreateInput`. Top-level serializers are not affected.
    """

    target_class = "rest_framework.serializers.Serializer"
    match_subclasses = True
    priority = -1  # any more specific extension wins

    @classmethod
    def _matches(cls, target) -> bool:
        serializer_class = target if isinstance(target, type) else type(target)
        qualname = serializer_class.__qualname__
        return "." in qualname and "<locals>" not in qualname and super()._matches(target)

    def get_name(self, auto_schema, direction) -> str | None:
        if has_override(self.target, "component_name"):
            return None
        serializer_class = self.target if isinstance(self.target, type) else type(self.target)
        outer, _, inner = serializer_class.__qualname__.rpartition(".")
        outer = outer.rpartition(".")[2].removesuffix("Api")
        return f"{outer}{inner.removesuffix('Serializer')}"

    def map_serializer(self, auto_schema, direction):
        # The base class maps `target_class` (here: Serializer itself); map the actual serializer.
        return auto_schema._map_serializer(self.target, direction, bypass_extensions=True)


class OAuth2BearerScheme(OpenApiAuthenticationExtension):
    """DOT bearer tokens as an HTTP bearer scheme, required (as an alternative) on every operation.

    drf-spectacular's bundled DOT extension only lists the scheme on views using
    `TokenHasScope` and, without OAUTH2_FLOWS settings, with empty flows.
    """

    target_class = "oauth2_provider.contrib.rest_framework.OAuth2Authentication"
    name = "bearerAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An OAuth 2.0 access token issued by this server: `Authorization: Bearer <token>`.",
        }
