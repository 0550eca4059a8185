"""What the receiving URL answers: the order of checks every inbound request goes through.

1. the token names an active endpoint, else 404 (as for any unknown URL);
2. GET: only a scheme with a verification challenge (Okta) answers it, after verifying the
   request; other methods but POST: 405;
3. the body is at most MAX_BODY_BYTES, else 413 (read from the stream with a cap, whatever
   Content-Length says);
4. the scheme verifies the raw bytes (signature, timestamp within the tolerance by
   `identity.clock`, or credentials) before anything parses them, else 401, the same answer
   whatever failed;
5. the scheme parses the verified body into events, else 400;
6. the events are stored (`services.inbound_receive`): 200 for new events and duplicates alike.
   Handlers run after commit, through the delivery engine, never in the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from identity.clock import clock
from identity.errors import ErrorCode, error_body
from webhooks import selectors, services
from webhooks.constants import MAX_BODY_BYTES, STORED_HEADERS, WebhookScheme
from webhooks.schemes import MalformedRequest, VerificationFailed, scheme_get

logger = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


NOT_FOUND = Answer(404, error_body(code=ErrorCode.NOT_FOUND, message="Not found."))
NOT_VERIFIED = Answer(
    401, error_body(code=ErrorCode.NOT_AUTHENTICATED, message="The request could not be verified.")
)
TOO_LARGE = Answer(
    413,
    error_body(code=ErrorCode.PAYLOAD_TOO_LARGE, message=f"The body may be at most {MAX_BODY_BYTES} bytes."),
)


def body_read(stream: Callable[[int], bytes], content_length: str | None) -> bytes:
    """At most MAX_BODY_BYTES from `stream` (a file's `read`); BodyTooLarge beyond."""
    try:
        declared = int(content_length or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise BodyTooLarge
    body = stream(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge
    return body


def _not_allowed(allowed: str) -> Answer:
    return Answer(
        405,
        error_body(code=ErrorCode.METHOD_NOT_ALLOWED, message="Method not allowed."),
        {"Allow": allowed},
    )


def _unverified(endpoint, error: VerificationFailed) -> Answer:
    logger.info("webhook endpoint %s: request not verified (%s)", endpoint.pk, error)
    if endpoint.scheme == WebhookScheme.BASIC:
        return Answer(NOT_VERIFIED.status, NOT_VERIFIED.body, {"WWW-Authenticate": 'Basic realm="webhook"'})
    return NOT_VERIFIED


def inbound_answer(
    *,
    token: str,
    method: str,
    headers: dict[str, str],
    read_body: Callable[[], bytes],
    remote_addr: str | None,
) -> Answer:
    """The answer to one request at `/webhooks/in/<token>/`. `headers` have lower-case names;
    `read_body` returns the capped body or raises BodyTooLarge."""
    endpoint = selectors.endpoint_for_token(token)
    if endpoint is None:
        return NOT_FOUND
    scheme = scheme_get(endpoint.scheme)
    now = clock.now()
    allowed = "GET, POST" if scheme.answers_get else "POST"
    if method == "GET" and scheme.answers_get:
        try:
            return Answer(200, scheme.challenge(endpoint, headers, now))
        except VerificationFailed as error:
            return _unverified(endpoint, error)
        except MalformedRequest as error:
            return Answer(400, error_body(code=ErrorCode.VALIDATION_FAILED, message=str(error)))
    if method != "POST":
        return _not_allowed(allowed)
    try:
        body = read_body()
    except BodyTooLarge:
        return TOO_LARGE
    try:
        scheme.verify(endpoint, headers, body, now)
    except VerificationFailed as error:
        return _unverified(endpoint, error)
    try:
        events = scheme.events(headers, body)
    except MalformedRequest as error:
        return Answer(400, error_body(code=ErrorCode.VALIDATION_FAILED, message=str(error)))
    receipt = services.inbound_receive(
        endpoint=endpoint,
        events=events,
        headers={name: headers[name][:500] for name in STORED_HEADERS if name in headers},
        remote_addr=remote_addr,
    )
    return Answer(200, {"received": receipt.received, "duplicates": receipt.duplicates})
