"""The access-policy rule grammar: what a rule may say, checked the same way for the portal
form, the REST API and the service (`access_policy_create` / `access_policy_update`).

A rule is a FHIR R4 resource type (or `*` for every type), SMART v2 interactions (letters of
`cruds`, in order) and optional criteria: a FHIR search on that type, `name=value` pairs
joined by `&`, optionally written with the type in front (`Patient?organization=%org`). A
`%name` placeholder is filled from each member's access parameters when a token is issued
(oauth/granting.py reads criteria with `criteria_query`, so what is accepted here is exactly
what grants). A policy has at least one rule and no rule twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import ValidationError

from accounts.models import CRITERIA_PLACEHOLDER as PLACEHOLDER
from accounts.models import validate_interactions
from identity.fhir import FHIR_R4_RESOURCE_TYPES, fhir_resource_type_suggestion

_SEARCH_PARAMETER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.:]*$")
ALL_TYPES = "*"

RESOURCE_TYPE_HELP = "A FHIR R4 resource type such as Patient or Observation, or * for every type."
INTERACTIONS_HELP = "Letters of cruds (create, read, update, delete, search) in that order, e.g. rs."
CRITERIA_HELP = (
    "Optional FHIR search on this type, e.g. Patient?organization=%org; %name is filled from "
    "each member's access parameters."
)
NO_RULES = "A policy needs at least one rule; without rules it would allow nothing."


def resource_type_problem(resource_type: str) -> str:
    """Why `resource_type` is not a FHIR R4 resource type (or `*`), "" when it is."""
    if not resource_type:
        return "Give a FHIR resource type, or * for every type."
    if resource_type == ALL_TYPES or resource_type in FHIR_R4_RESOURCE_TYPES:
        return ""
    suggestion = fhir_resource_type_suggestion(resource_type)
    hint = f" Did you mean {suggestion}?" if suggestion else ""
    return f"{resource_type} is not a FHIR R4 resource type.{hint}"


def criteria_query(resource_type: str, criteria: str) -> tuple[tuple[str, str], ...] | None:
    """Criteria (placeholders already filled) as search pairs; None when they are not a search
    on `resource_type` (then the rule grants nothing: a condition never silently drops)."""
    criteria = (criteria or "").strip()
    if not criteria:
        return ()
    prefix, question, rest = criteria.partition("?")
    if question:
        if prefix != resource_type:
            return None
        criteria = rest
    try:
        pairs = parse_qsl(criteria, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    if not pairs or any(not _SEARCH_PARAMETER.match(name) or not value for name, value in pairs):
        return None
    return tuple(pairs)


def criteria_problem(resource_type: str, criteria: str) -> str:
    """Why `criteria` is not a search on `resource_type` this server can apply, "" when it is."""
    criteria = (criteria or "").strip()
    if not criteria:
        return ""
    prefix, question, rest = criteria.partition("?")
    if question and prefix != resource_type:
        if resource_type == ALL_TYPES:
            return (
                f"These criteria are for {prefix}; a rule for every type (*) takes criteria without a type."
            )
        return f"These criteria are for {prefix or 'no type'}, but the rule is for {resource_type}."
    body = rest if question else criteria
    if "%" in PLACEHOLDER.sub("", body):
        return "A % must start a placeholder such as %org (letters, digits and _)."
    filled = PLACEHOLDER.sub("x", body)
    try:
        pairs = parse_qsl(filled, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        pairs = []
    if not pairs:
        return "Write the criteria as name=value pairs joined by &, e.g. organization=%org."
    for name, value in pairs:
        if not _SEARCH_PARAMETER.match(name):
            return f"{name!r} is not a search parameter name."
        if not value:
            return f"Give {name} a value."
    return ""


def rule_problems(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Field errors of one rule (`resource_type`, `interactions`, `criteria`)."""
    resource_type = (data.get("resource_type") or "").strip()
    errors: dict[str, list[str]] = {}
    if problem := resource_type_problem(resource_type):
        errors["resource_type"] = [problem]
    try:
        validate_interactions((data.get("interactions") or "").strip())
    except ValidationError as error:
        errors["interactions"] = list(error.messages)
    if "resource_type" not in errors and (
        problem := criteria_problem(resource_type, data.get("criteria") or "")
    ):
        errors["criteria"] = [problem]
    return errors


def rule_key(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """What makes two rules the same: type, interactions and criteria (with or without `Type?`)."""
    resource_type = (data.get("resource_type") or "").strip()
    criteria = (data.get("criteria") or "").strip()
    if criteria.startswith(f"{resource_type}?"):
        criteria = criteria[len(resource_type) + 1 :]
    return resource_type, (data.get("interactions") or "").strip(), criteria


def rules_problems(rules: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Every problem of a policy's rules at once: `rules.<i>.<field>` per rule, a repeated rule
    under `rules.<i>.non_field_errors`, no rule at all under `rules`."""
    errors: dict[str, list[str]] = {}
    first_of: dict[tuple[str, str, str], int] = {}
    count = 0
    for index, data in enumerate(rules):
        count += 1
        problems = rule_problems(data)
        for name, messages in problems.items():
            errors[f"rules.{index}.{name}"] = messages
        if problems:
            continue
        key = rule_key(data)
        if key in first_of:
            errors[f"rules.{index}.non_field_errors"] = [f"The same rule as rule {first_of[key] + 1}."]
        else:
            first_of[key] = index
    if not count:
        errors["rules"] = [NO_RULES]
    return errors
