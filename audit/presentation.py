"""The audit log in plain words for the portal page: each event's details as short lines.

`details` stay machine-readable JSON in the database, the API and the CSV export; the page
shows `display_name: '' → 'Lab'` instead of `{'changes': {'display_name': ['', 'Lab']}}`, and
names instead of the ids of access policies, members and identity providers (looked up in the
event's project only, one query per kind for a whole page).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.apps import apps

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# Detail keys naming another record by id: (model label, how to name it).
_REFERENCES: dict[str, tuple[str, str]] = {
    "access_policy": ("accounts.AccessPolicy", "name"),
    "default_access_policy": ("accounts.AccessPolicy", "name"),
    "membership": ("accounts.Membership", "user__email"),
    "identity_provider": ("federation.IdentityProvider", "name"),
}


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def _referenced_ids(details: Any) -> Iterable[tuple[str, str]]:
    """(key, id) pairs of the references in one event's details (top level and in `changes`)."""
    if not isinstance(details, dict):
        return
    for key, value in details.items():
        if key == "changes" and isinstance(value, dict):
            for field, pair in value.items():
                if field in _REFERENCES and isinstance(pair, list | tuple):
                    yield from ((field, item) for item in pair if _is_id(item))
        elif key in _REFERENCES and _is_id(value):
            yield key, value


def _names(events: list, project) -> dict[str, str]:
    """id → name of every referenced record, per model one query, within `project`."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        for key, value in _referenced_ids(event.details):
            wanted.setdefault(key, set()).add(value)
    names: dict[str, str] = {}
    by_model: dict[tuple[str, str], set[str]] = {}
    for key, ids in wanted.items():
        by_model.setdefault(_REFERENCES[key], set()).update(ids)
    for (label, name_field), ids in by_model.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        rows = model.objects.filter(pk__in=ids)
        if project is not None:
            rows = rows.filter(project=project)
        names.update({str(pk): name for pk, name in rows.values_list("pk", name_field)})
    return names


def _value(value: Any, names: dict[str, str], quote: bool = True) -> str:
    """A value in plain words; texts quoted in changes (so '' → 'Lab' shows the empty one)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if _is_id(value):
            value = names.get(value, "a record since deleted")
        return f"'{value}'" if quote else value
    if isinstance(value, list | tuple):
        text = ", ".join(_value(item, names, quote) for item in value)
        return f"[{text}]" if quote else (text or "none")
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v, names, quote)}" for k, v in value.items()) if value else "none"
    return str(value)


def audit_details_lines(details: Any, names: dict[str, str] | None = None) -> list[str]:
    """One event's details as lines: `field: before → after` for changes, `key: value` else."""
    names = names or {}
    if not isinstance(details, dict):
        return [] if details in (None, "", {}) else [str(details)]
    lines = []
    for key, value in details.items():
        if key == "changes" and isinstance(value, dict):
            for field, pair in value.items():
                if isinstance(pair, list | tuple) and len(pair) == 2:
                    lines.append(f"{field}: {_value(pair[0], names)} → {_value(pair[1], names)}")
                else:
                    lines.append(f"{field}: {_value(pair, names)}")
        else:
            lines.append(f"{key}: {_value(value, names, quote=False)}")
    return lines


def audit_events_describe(events: Iterable, *, project=None) -> list:
    """The events, each with `details_lines` for the page (references named within `project`)."""
    events = list(events)
    names = _names(events, project)
    for event in events:
        event.details_lines = audit_details_lines(event.details, names)
    return events
