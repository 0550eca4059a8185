"""Kinds of delivery and relay hooks, registered by apps in their AppConfig.ready()."""

from __future__ import annotations

import logging
from collections.abc import Callable

from notifications.delivery.kinds import DeliveryKind

logger = logging.getLogger(__name__)

_kinds: dict[str, DeliveryKind] = {}
_relay_hooks: dict[str, Callable[[], object]] = {}


def register_delivery_kind(kind: DeliveryKind) -> DeliveryKind:
    existing = _kinds.get(kind.name)
    if existing is not None and type(existing) is not type(kind):
        raise ValueError(f"A delivery kind named {kind.name!r} is already registered ({existing!r}).")
    _kinds[kind.name] = kind
    return kind


def unregister_delivery_kind(name: str) -> None:
    """For tests that register a kind of their own."""
    _kinds.pop(name, None)


def delivery_kind(name: str) -> DeliveryKind:
    try:
        return _kinds[name]
    except KeyError as exc:
        raise LookupError(f"No delivery kind {name!r}; registered: {', '.join(sorted(_kinds))}.") from exc


def delivery_kinds() -> list[DeliveryKind]:
    return list(_kinds.values())


def register_relay_hook(name: str, hook: Callable[[], object]) -> None:
    """Run `hook()` on every relay pass: resume other durable work whose publish may have failed."""
    _relay_hooks[name] = hook


def run_relay_hooks() -> dict[str, object]:
    """Each hook in isolation: one failing hook never stops the others (or the relay)."""
    results: dict[str, object] = {}
    for name, hook in list(_relay_hooks.items()):
        try:
            results[name] = hook()
        except Exception:
            logger.exception("relay hook %s failed; it runs again on the next relay pass", name)
            results[name] = None
    return results
