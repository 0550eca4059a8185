"""One error vocabulary for services, the portal and the API.

Services raise `ApplicationError` (or Django's `ValidationError` with a `code`);
the API renders both in one envelope (identity/api.py) and the portal shows the
message. Codes are stable strings that clients may switch on; messages are for
people and may change.
"""

from __future__ import annotations

from http import HTTPStatus


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
    SERVER_ERROR = "server_error"


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


def error_body(*, code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}
