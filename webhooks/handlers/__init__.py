"""What an endpoint does with its events: handlers, registered by name in WebhooksConfig.ready().

Adding a SaaS is one module here: a `WebhookHandler` subclass with a `name`, a `label`, the
schemes it understands and `handle()`, registered in `WebhooksConfig.ready()` with
`register_handler`. The delivery engine calls `handle()` after the event is stored, in a
transaction of its own, at least once: a handler must be idempotent (deactivating an inactive
membership changes nothing). It returns one sentence saying what it did (shown in the portal),
raises `HandlerRefused` when the event can never be processed (the event is `dead`), and any
other exception to be retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from audit.context import Actor

if TYPE_CHECKING:
    from webhooks.models import InboundEvent, WebhookEndpoint


class HandlerRefused(Exception):
    """This event can never be processed as it is (retrying cannot help); the text is shown."""


@dataclass(frozen=True)
class WebhookActor(Actor):
    """Who acts when a handler calls a service: the endpoint, on behalf of its sender.

    Not a user and not the system: services grant it no more than an automation client (it
    cannot, for instance, deactivate a project owner), and the audit log names the endpoint.
    """

    endpoint_name: str = ""

    @property
    def label(self) -> str:
        return f"webhook:{self.endpoint_name}"


def webhook_actor(endpoint: WebhookEndpoint) -> WebhookActor:
    return WebhookActor(endpoint_name=endpoint.name, user_agent=f"webhook endpoint {endpoint.pk}")


class WebhookHandler:
    """One handler. `schemes` lists the schemes whose events it understands (None: any)."""

    name: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    schemes: ClassVar[tuple[str, ...] | None] = None

    def accepts_scheme(self, scheme: str) -> bool:
        return self.schemes is None or scheme in self.schemes

    def handle(self, *, event: InboundEvent, payload: Any, actor: Actor) -> str:
        """Process one stored event (`payload`: its body parsed as JSON, or None); say what was done."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<WebhookHandler {self.name}>"


_handlers: dict[str, WebhookHandler] = {}


def register_handler(handler: WebhookHandler) -> WebhookHandler:
    existing = _handlers.get(handler.name)
    if existing is not None and type(existing) is not type(handler):
        raise ValueError(f"A webhook handler named {handler.name!r} is already registered ({existing!r}).")
    _handlers[handler.name] = handler
    return handler


def unregister_handler(name: str) -> None:
    """For tests that register a handler of their own."""
    _handlers.pop(name, None)


def handler_get(name: str) -> WebhookHandler:
    try:
        return _handlers[name]
    except KeyError:
        raise LookupError(
            f"No webhook handler {name!r}; registered: {', '.join(sorted(_handlers))}."
        ) from None


def handlers() -> list[WebhookHandler]:
    return sorted(_handlers.values(), key=lambda handler: handler.name)


def handler_choices(scheme: str | None = None) -> list[tuple[str, str]]:
    """(name, label) of the registered handlers (those accepting `scheme`, when given)."""
    return [
        (handler.name, str(handler.label))
        for handler in handlers()
        if scheme is None or handler.accepts_scheme(scheme)
    ]


__all__ = [
    "HandlerRefused",
    "WebhookActor",
    "WebhookHandler",
    "handler_choices",
    "handler_get",
    "handlers",
    "register_handler",
    "webhook_actor",
]
