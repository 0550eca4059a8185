"""The one place that reads process environment variables.

Every setting the deployment can change is read here with a typed helper, so
that `README.md`'s configuration table and the code cannot drift apart silently.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def require_production_settings(names: list[str]) -> None:
    """Refuse to start a production process when any of `names` is unset.

    The message names every missing variable at once so an operator fixes the
    deployment in one go instead of one restart per variable.
    """
    missing = [name for name in names if not env_str(name)]
    if missing:
        raise ImproperlyConfigured(
            "Production mode (APP_ENV=production) refuses to start without "
            + ", ".join(missing)
            + ". Set them in the environment; see README.md, 'Configuration'."
        )
