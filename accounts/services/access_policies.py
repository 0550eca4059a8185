from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import AccessPolicy, AccessPolicyRule, Project
from accounts.services.access_rules import NO_RULES, rules_problems
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.errors import ApplicationError, ErrorCode, error_fields


class RuleInput(TypedDict, total=False):
    resource_type: str
    interactions: str
    criteria: str


def _build_rules(policy: AccessPolicy, rules: Iterable[RuleInput]) -> list[AccessPolicyRule]:
    """Validate every rule first and report all problems at once, keyed `rules.<index>.<field>`
    (the rule grammar: accounts/services/access_rules.py; at least one rule, none twice)."""
    rules = list(rules)
    built: list[AccessPolicyRule] = []
    errors: dict[str, list[str]] = rules_problems(rules)
    for index, data in enumerate(rules):
        rule = AccessPolicyRule(
            policy=policy,
            position=index,
            resource_type=(data.get("resource_type") or "").strip(),
            interactions=(data.get("interactions") or "").strip(),
            criteria=(data.get("criteria") or "").strip(),
        )
        if not any(key.startswith(f"rules.{index}.") for key in errors):
            try:
                rule.full_clean(exclude=["policy"])  # lengths
            except ValidationError as exc:
                errors.update(error_fields(exc, prefix=f"rules.{index}."))
        built.append(rule)
    if errors:
        message = NO_RULES if set(errors) == {"rules"} else "Some rules are not valid."
        raise ApplicationError(message, fields=errors)
    return built


def _save_policy(policy: AccessPolicy) -> None:
    policy.name = policy.name.strip()
    if not policy.name:
        raise ApplicationError("A policy needs a name.", fields={"name": ["This field is required."]})
    clash = AccessPolicy.objects.filter(project_id=policy.project_id, name__iexact=policy.name).exclude(
        pk=policy.pk
    )
    if clash.exists():
        raise ApplicationError(
            "A policy with that name already exists in this project.",
            code=ErrorCode.CONFLICT,
            status=409,
            fields={"name": ["Already used in this project."]},
        )
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError as exc:  # a concurrent create with the same name
        raise ApplicationError(
            "A policy with that name already exists.", code=ErrorCode.CONFLICT, status=409
        ) from exc


def _rules_summary(policy: AccessPolicy) -> list[str]:
    return [str(rule) for rule in policy.rules.all()]


@transaction.atomic
def access_policy_create(
    *, project: Project, name: str, actor: Actor, description: str = "", rules: Iterable[RuleInput] = ()
) -> AccessPolicy:
    """A policy with its rules (at least one: an empty policy would allow nothing)."""
    policy = AccessPolicy(project=project, name=name or "", description=description or "")
    built = _build_rules(policy, rules)
    _save_policy(policy)
    AccessPolicyRule.objects.bulk_create(built)
    audit_record(
        action=AuditAction.ACCESS_POLICY_CREATED,
        actor=actor,
        project=project,
        target=policy,
        details={"rules": _rules_summary(policy)},
    )
    return policy


@transaction.atomic
def access_policy_update(
    *,
    policy: AccessPolicy,
    actor: Actor,
    name: str | None = None,
    description: str | None = None,
    rules: Iterable[RuleInput] | None = None,
) -> AccessPolicy:
    """Rename/describe a policy and, when `rules` is given, replace its rules as a whole."""
    policy = AccessPolicy.objects.select_for_update().get(pk=policy.pk)
    before = {"name": policy.name, "description": policy.description, "rules": _rules_summary(policy)}
    if name is not None:
        policy.name = name
    if description is not None:
        policy.description = description
    built = _build_rules(policy, rules) if rules is not None else None
    _save_policy(policy)
    if built is not None:
        policy.rules.all().delete()
        AccessPolicyRule.objects.bulk_create(built)
    after = {"name": policy.name, "description": policy.description, "rules": _rules_summary(policy)}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        audit_record(
            action=AuditAction.ACCESS_POLICY_UPDATED,
            actor=actor,
            project=policy.project,
            target=policy,
            details={"changes": changes},
        )
    return policy


def access_policy_usage(policy: AccessPolicy) -> dict[str, int]:
    """How many memberships / clients / project defaults point at `policy`."""
    from django.apps import apps

    usage = {
        "memberships": policy.memberships.count(),
        "project_default": int(Project.objects.filter(default_access_policy=policy).exists()),
    }
    client_model = apps.get_model("oauth", "Client")
    usage["clients"] = client_model.objects.filter(access_policy=policy).count()
    return usage


@transaction.atomic
def access_policy_delete(*, policy: AccessPolicy, actor: Actor) -> None:
    """Delete a policy nobody uses; a policy in use is refused (409 policy_in_use)."""
    policy = AccessPolicy.objects.select_for_update().get(pk=policy.pk)
    usage = access_policy_usage(policy)
    if any(usage.values()):
        parts = [f"{count} {what.replace('_', ' ')}" for what, count in usage.items() if count]
        raise ApplicationError(
            f"The policy is in use ({', '.join(parts)}); assign another policy first.",
            code=ErrorCode.POLICY_IN_USE,
            status=409,
        )
    audit_record(
        action=AuditAction.ACCESS_POLICY_DELETED,
        actor=actor,
        project=policy.project,
        target=policy,
        details={"rules": _rules_summary(policy)},
    )
    policy.delete()
