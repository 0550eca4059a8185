"""What a token may carry: requested ∩ the client's allowed scopes ∩ the access policy.

The one place that decides granted scopes, asked by the validator (authorization requests,
codes, client credentials), the consent page and the access simulator. Resource scopes are
narrowed, never widened: a request narrower than the policy stays as asked; a wider one is cut
to what the policy allows (`user/*.cruds` under a policy allowing Observation read/search becomes
`user/Observation.rs`), each cut explained in plain words.

Access policies are rendered as SMART v2 scopes valid in any context: a rule `Observation`
`rs` with criteria `subject=%patient` becomes `*/Observation.rs?subject=Patient/123` once the
membership's parameters are substituted (`%profile` and `%patient` come from the membership's
FHIR profile; a Patient profile is also the patient). A rule whose parameters are missing
grants nothing. No policy means no FHIR access (deny by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.services.access_rules import PLACEHOLDER, criteria_query
from oauth.constants import GrantType
from oauth.scopes import (
    NAMED_SCOPES,
    PERMISSION_WORDS,
    IgnoredScope,
    ResourceScope,
    resource_scope_narrow,
    resource_scopes_minimal,
    scopes_parse,
)

PATIENT_CONTEXT_SCOPES = {"launch", "launch/patient"}


@dataclass(frozen=True)
class ScopeOutcome:
    """One requested scope: what of it was granted, and why not all (empty `reason`: as asked)."""

    requested: str
    granted: tuple[str, ...]
    reason: str = ""


@dataclass
class ScopeGrant:
    granted: list[str] = field(default_factory=list)
    outcomes: list[ScopeOutcome] = field(default_factory=list)
    ignored: list[IgnoredScope] = field(default_factory=list)
    # Named scopes the client may not ask for at all (the request is refused: invalid_scope).
    forbidden: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[ScopeOutcome]:
        return [o for o in self.outcomes if o.reason]

    @property
    def refusal(self) -> str:
        """Why the whole request is refused (invalid_scope), "" when it is not: a scope that is
        not understood, a named scope the client may not ask for, or nothing left to grant."""
        if self.ignored or self.forbidden:
            problems = [f"{i.scope} ({i.reason})" for i in self.ignored]
            problems += [f"{s} (this client may not ask for it)" for s in self.forbidden]
            return "Scope not granted: " + "; ".join(problems)
        if not self.granted:
            return "No requested scope can be granted: " + "; ".join(
                f"{o.requested}: {o.reason}" for o in self.changed
            )
        return ""


def policy_parameters(membership) -> dict[str, str]:
    """`%name` values of a membership: its access parameters, `profile`, and `patient` (the
    profile when it is a Patient, unless a parameter named patient says otherwise)."""
    values = {str(k): str(v) for k, v in (membership.access_parameters or {}).items()}
    if membership.profile:
        values.setdefault("profile", membership.profile)
        if membership.profile.startswith("Patient/"):
            values.setdefault("patient", membership.profile)
    return values


def policy_scopes(policy, parameters: dict[str, str]) -> list[ResourceScope]:
    """The access policy as SMART v2 scopes (context `*`), parameters filled in."""
    if policy is None:
        return []
    scopes = []
    for rule in policy.rules.all():
        criteria = rule.criteria or ""
        missing = [name for name in PLACEHOLDER.findall(criteria) if name not in parameters]
        if missing:
            continue
        query = criteria_query(
            rule.resource_type, PLACEHOLDER.sub(lambda m: parameters[m.group(1)], criteria)
        )
        if query is None:
            continue
        scopes.append(ResourceScope("*", rule.resource_type, rule.interactions, query))
    return scopes


def policy_summary(scopes: list[ResourceScope]) -> str:
    """ "Observation: read, search; Patient: read" — what a policy allows, for reasons."""
    if not scopes:
        return "nothing"
    parts = []
    for scope in scopes:
        what = "every resource type" if scope.resource_type == "*" else scope.resource_type
        text = f"{what}: {', '.join(PERMISSION_WORDS[p] for p in scope.permissions)}"
        if scope.query:
            text += " where " + " and ".join(f"{k}={v}" for k, v in scope.query)
        parts.append(text)
    return "; ".join(parts)


def _narrow_all(requested: list[ResourceScope], allowed: list[ResourceScope]) -> list[ResourceScope]:
    return resource_scopes_minimal(
        [n for r in requested for a in allowed if (n := resource_scope_narrow(r, a)) is not None]
    )


def _membership(user, client):
    from accounts.models import Membership

    return (
        Membership.objects.select_related("access_policy")
        .prefetch_related("access_policy__rules")
        .filter(user=user, project_id=client.project_id, is_active=True)
        .first()
    )


def scopes_grant(*, client, requested, grant_type: str, user=None, user_known: bool = True) -> ScopeGrant:
    """Decide the scopes of a token for `client` (and `user`, for user flows).

    `user_known=False` (an authorization request before the user is asked) applies only the
    client's limits; the user's policy is applied when the code is issued.
    """
    parsed = scopes_parse(requested)
    result = ScopeGrant(ignored=list(parsed.ignored))
    allowed = scopes_parse(client.allowed_scopes or "")
    allowed_named = set(allowed.named) if client.allowed_scopes else set(NAMED_SCOPES)
    for scope in parsed.named:
        if scope == "launch/encounter" and "launch" not in parsed.named:
            # A standalone encounter picker is not offered: only an EHR launch brings one.
            result.outcomes.append(ScopeOutcome(scope, (), "an encounter comes only with an EHR launch"))
            continue
        if scope in allowed_named:
            result.granted.append(scope)
            result.outcomes.append(ScopeOutcome(scope, (scope,)))
        else:
            result.forbidden.append(scope)
            result.outcomes.append(ScopeOutcome(scope, (), "this app is not allowed to ask for it"))

    machine = grant_type == GrantType.CLIENT_CREDENTIALS
    policy = None
    parameters: dict[str, str] = {}
    policy_name = ""
    if machine:
        policy, policy_name = client.access_policy, getattr(client.access_policy, "name", "")
    elif user_known and user is not None and parsed.resources:
        # The member's policy narrows resource scopes only: without any, it is not read.
        membership = _membership(user, client)
        if membership is not None:
            policy, parameters = membership.access_policy, policy_parameters(membership)
            policy_name = getattr(policy, "name", "")
    policy_allows = policy_scopes(policy, parameters)
    # SMART: a granted patient/ scope SHALL come with a patient in the token response, so only
    # a launch that establishes one (EHR `launch`, standalone `launch/patient`) allows them.
    has_patient = bool(PATIENT_CONTEXT_SCOPES & set(result.granted))

    for resource in parsed.resources:
        requested_text = str(resource)
        if resource.context == "system" and not machine:
            result.outcomes.append(
                ScopeOutcome(requested_text, (), "system/ scopes are for backend services")
            )
            continue
        if resource.context != "system" and machine:
            result.outcomes.append(
                ScopeOutcome(requested_text, (), "patient/ and user/ scopes need a signed-in user")
            )
            continue
        if resource.context == "patient" and (user_known or machine) and not has_patient:
            result.outcomes.append(
                ScopeOutcome(requested_text, (), "needs a patient: ask for launch/patient (or launch) too")
            )
            continue
        narrowed = _narrow_all([resource], allowed.resources)
        if not narrowed:
            result.outcomes.append(ScopeOutcome(requested_text, (), "this app is not allowed to ask for it"))
            continue
        if user_known or machine:
            if policy is None:
                reason = "no access policy applies, so no FHIR access"
                result.outcomes.append(ScopeOutcome(requested_text, (), reason))
                continue
            narrowed = _narrow_all(narrowed, policy_allows)
        granted = tuple(str(n) for n in narrowed)
        if not granted:
            reason = f"the access policy {policy_name!r} allows {policy_summary(policy_allows)}"
        elif granted != (requested_text,):
            reason = (
                f"narrowed to what the access policy {policy_name!r} allows"
                if (user_known or machine)
                else "narrowed to what this app may ask for"
            )
        else:
            reason = ""
        result.outcomes.append(ScopeOutcome(requested_text, granted, reason))
        result.granted.extend(g for g in granted if g not in result.granted)
    return result
