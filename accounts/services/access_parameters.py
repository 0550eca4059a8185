"""Access parameters: the values a membership gives its access policy's `%name` placeholders.

One grammar for every place people type them (portal forms, bulk CSV cells, bulk JSON rows):
`name=value` entries separated by new lines or by `;`, so `org=Organization/7;site=Location/2`
and the same two entries on two lines are equal. Around names and values, spaces are
trimmed; the first `=` separates (a value may contain `=` but not `;` or a line break); a
leading `%` on a name is dropped, since people copy names from the criteria. JSON rows may
give an object instead.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_SEPARATOR = re.compile(r"[;\r\n]+")
SYNTAX_MESSAGE = "Entry {number} ({entry!r}): write name=value, one per line or separated by ';'."


def _syntax_error(number: int, entry: str) -> ValidationError:
    # No `params`: Django would %-format the message, and entries may contain '%'.
    return ValidationError(SYNTAX_MESSAGE.format(number=number, entry=entry[:40]), code="parameter_syntax")


def access_parameters_parse(value: str | dict | None) -> dict[str, str]:
    """Parse typed access parameters into {name: value}; raises ValidationError(code="parameter_syntax")."""
    if value is None:
        return {}
    if isinstance(value, dict):
        result: dict[str, str] = {}
        for number, (name, item) in enumerate(value.items(), start=1):
            if not str(name).strip().lstrip("%") or isinstance(item, (dict, list, tuple)) or item is None:
                raise _syntax_error(number, f"{name}={item}")
            result[str(name).strip().lstrip("%")] = str(item).strip()
        return result
    result = {}
    entries = [entry.strip() for entry in _SEPARATOR.split(str(value))]
    for number, entry in enumerate((e for e in entries if e), start=1):
        name, sep, item = entry.partition("=")
        name = name.strip().lstrip("%")
        if not sep or not name:
            raise _syntax_error(number, entry)
        result[name] = item.strip()
    return result


def access_parameters_format(parameters: dict[str, str] | None) -> str:
    """The form's text for stored parameters: one `name=value` per line, by name (parses back equal)."""
    return "\n".join(f"{name}={value}" for name, value in sorted((parameters or {}).items()))
