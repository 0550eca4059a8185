"""One error vocabulary for services, the portal and the API.

Services raise `ApplicationError` (or Django's `ValidationError` with a `code`);
the API renders both in one envelope (identity/api.py) and the portal shows the
message. Codes are stable strings that clients may switch on; messages are for
people and may change.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class ErrorCode:
    VALIDATION_FAILED = "validation_failed"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    NOT_AUTHENTICATED = "not_authenticated"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    THROTTLED = "throttled"
    CONFLICT = "conflict"
    POLICY_IN_USE = "policy_in_use"
    LAST_OWNER = "last_owner"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    SERVER_ERROR = "server_error"
    SERVICE_UNAVAILABLE = "service_unavailable"


class ApplicationError(Exception):
    """A business rule refused the operation; nothing was written."""

    def __init__(
        self,
        message: str,
        *,
        code: str = ErrorCode.VALIDATION_FAILED,
        status: int = HTTPStatus.BAD_REQUEST,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.fields = fields or {}


def error_fields(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Field errors in the one shape of `ApplicationError.fields`: `{"dotted.path": [text, ...]}`.

    Takes Django's `ValidationError` (per field or not) or DRF's error detail (nested dicts and
    lists: `{"rules": [{}, {"interactions": [...]}]}` gives `rules.1.interactions`, a bad item of
    a list field `scopes.0`). Messages are plain text; errors not tied to a field are under
    `non_field_errors` (or under `prefix` without its trailing dot).
    """
    if isinstance(errors, ValidationError):
        errors = errors.message_dict if hasattr(errors, "error_dict") else errors.messages
    if isinstance(errors, dict):
        fields: dict[str, list[str]] = {}
        for key, value in errors.items():
            if key == NON_FIELD_ERRORS:  # Django's "__all__": DRF's name, like everything else
                fields.update(error_fields(value, prefix))
            else:
                fields.update(error_fields(value, f"{prefix}{key}."))
        return fields
    if isinstance(errors, list | tuple) and any(isinstance(item, dict | list | tuple) for item in errors):
        fields = {}
        for index, item in enumerate(errors):
            fields.update(error_fields(item, f"{prefix}{index}."))
        return fields
    messages = list(errors) if isinstance(errors, list | tuple) else [errors]
    if not messages:
        return {}
    return {prefix.rstrip(".") or "non_field_errors": [str(message) for message in messages]}


def error_body(*, code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}
