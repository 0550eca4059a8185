"""The access simulator: what a member or a client would get for a scope string, and why.

The admin's answer to "why was access denied". Nothing is decided here: the scopes come from
`oauth.granting.scopes_grant` (the one place that decides granted scopes), asked the way the
validator asks it, and are described by the scope grammar (`oauth.scopes.scope_describe`); the
policy in force is rendered by `granting.policy_scopes` / `policy_summary`; whether the person
may get tokens at all is `oauth.rules.user_may_use_client`. This module picks the subject, asks,
and puts the answer into words.

Who is simulated:

- a membership and a client: the member signing in to that app (authorization code);
- a membership alone: the member signing in to a *virtual app that may ask for every scope the
  grammar knows* (`ANY_APP_SCOPES`: every named scope and `*.cruds` in every context), so only
  the member's access policy limits the result. That answers "what does this person's policy
  allow" without tying the answer to one app's configuration; pass a client to see an app's own
  limits too;
- a client alone: client credentials, under the client's own access policy.

Both must belong to the project (tenant isolation): ids from input go through
`simulation_membership_from_input` / `simulation_client_from_input`, which answer another
project's id exactly like an unknown one (a 400 naming the field).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import Http404

from accounts import selectors as account_selectors
from identity.errors import ApplicationError
from oauth.constants import GrantType
from oauth.granting import policy_parameters, policy_scopes, policy_summary, scopes_grant
from oauth.models import Client
from oauth.rules import user_may_use_client
from oauth.scopes import CONTEXTS, NAMED_SCOPES, SMART_PERMISSIONS, ResourceScope, scope_describe

# What the virtual app of a membership-only simulation may ask for: everything the grammar knows.
ANY_APP_SCOPES = " ".join(
    [*NAMED_SCOPES, *(str(ResourceScope(context, "*", SMART_PERMISSIONS)) for context in CONTEXTS)]
)
ANY_APP_NAME = "Any app (only the access policy limits)"
NO_POLICY_SUMMARY = "No access policy applies, so no FHIR access (deny by default)."


@dataclass(frozen=True)
class _AnyApp:
    """The virtual client of a membership-only simulation: the attributes `scopes_grant` and
    `user_may_use_client` read, allowing every scope, in the project."""

    project_id: object
    allowed_scopes: str = ANY_APP_SCOPES
    access_policy: None = None
    name: str = ANY_APP_NAME


@dataclass(frozen=True)
class DescribedScope:
    scope: str
    description: str


@dataclass(frozen=True)
class SimulatedScope:
    """One requested scope: what of it would be granted, and why not all (empty: as asked)."""

    requested: str
    granted: tuple[DescribedScope, ...]
    reason: str


@dataclass(frozen=True)
class UnfilledRule:
    """A policy rule that grants nothing because the member has no value for its parameters."""

    rule: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class PolicyInForce:
    """The access policy the decision used, in words. `name` is empty when there is none."""

    held_by: str  # "membership" or "client"
    id: object | None
    name: str
    scopes: tuple[str, ...]  # SMART v2 scopes, context `*`, parameters filled in
    summary: str
    unfilled_rules: tuple[UnfilledRule, ...] = ()


@dataclass(frozen=True)
class IgnoredScopeOutput:
    scope: str
    reason: str


@dataclass
class SimulationResult:
    grant_type: str
    requested: str
    membership: object | None
    client: Client | None  # None: the virtual app of a membership-only simulation
    policy: PolicyInForce
    granted: list[DescribedScope] = field(default_factory=list)
    outcomes: list[SimulatedScope] = field(default_factory=list)
    ignored: list[IgnoredScopeOutput] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def any_app(self) -> bool:
        return self.client is None

    @property
    def client_name(self) -> str:
        return ANY_APP_NAME if self.client is None else str(self.client)


def _described(scopes) -> tuple[DescribedScope, ...]:
    return tuple(DescribedScope(scope, scope_describe(scope)) for scope in scopes)


def _policy_in_force(*, membership, client) -> PolicyInForce:
    if membership is not None:
        held_by, policy, parameters = "membership", membership.access_policy, policy_parameters(membership)
    else:
        held_by, policy, parameters = "client", client.access_policy, {}
    if policy is None:
        return PolicyInForce(held_by, None, "", (), NO_POLICY_SUMMARY)
    allowed = policy_scopes(policy, parameters)
    unfilled = tuple(
        UnfilledRule(str(rule), tuple(sorted(rule.parameter_names - set(parameters))))
        for rule in policy.rules.all()
        if rule.parameter_names - set(parameters)
    )
    return PolicyInForce(
        held_by, policy.pk, policy.name, tuple(str(s) for s in allowed), policy_summary(allowed), unfilled
    )


def _notes(*, membership, client, grant, grant_type: str) -> list[str]:
    """What else stops the tokens, from the rules that decide it (the result stands otherwise)."""
    notes = []
    if client is not None and not client.is_active:
        notes.append("This app is disabled: it gets no tokens at all.")
    if client is not None and grant_type not in (client.allowed_grant_types or []):
        if membership is not None:
            notes.append("This app does not sign users in (it lacks the authorization code grant).")
        else:
            notes.append("This app does not use client credentials (it lacks that grant).")
    if membership is not None and not user_may_use_client(
        membership.user, client or _AnyApp(membership.project_id)
    ):
        notes.append(
            "This member may not get tokens: the user or the membership is deactivated, or the "
            "email address is not verified. The sign-in would end with access_denied."
        )
    # The validator's own answer (ScopeGrant.refusal): the whole request refused, and why.
    if grant.refusal:
        notes.append(f"The whole request would be refused (invalid_scope). {grant.refusal}")
    return notes


def access_simulate(
    *, project, scope: str, membership=None, client: Client | None = None
) -> SimulationResult:
    """What `membership` (signing in to `client`, or to any app) or `client` (client
    credentials) would be granted for `scope`, each dropped or narrowed scope with its reason."""
    if membership is None and client is None:
        raise ApplicationError(
            "Choose a member, a client, or both.",
            fields={"non_field_errors": ["Choose a member, a client, or both."]},
        )
    for subject in (membership, client):
        if subject is not None and subject.project_id != project.pk:
            raise Http404("No such member or client in this project.")
    if membership is not None:
        grant_type = GrantType.AUTHORIZATION_CODE
        decision = scopes_grant(
            client=client or _AnyApp(project.pk), requested=scope, grant_type=grant_type, user=membership.user
        )
    else:
        grant_type = GrantType.CLIENT_CREDENTIALS
        decision = scopes_grant(client=client, requested=scope, grant_type=grant_type)
    return SimulationResult(
        grant_type=str(grant_type),
        requested=scope,
        membership=membership,
        client=client,
        policy=_policy_in_force(membership=membership, client=client),
        granted=list(_described(decision.granted)),
        outcomes=[SimulatedScope(o.requested, _described(o.granted), o.reason) for o in decision.outcomes],
        ignored=[IgnoredScopeOutput(i.scope, i.reason) for i in decision.ignored],
        forbidden=list(decision.forbidden),
        notes=_notes(membership=membership, client=client, grant=decision, grant_type=grant_type),
    )


# --- input: ids of this project only ---------------------------------------------------------------


def simulation_membership_from_input(*, project, membership_id, field: str = "membership_id"):
    """The membership an id in a request names; unknown or another project's: a 400 under `field`."""
    if membership_id in (None, ""):
        return None
    try:
        return account_selectors.membership_get(project=project, membership_id=membership_id)
    except Http404 as exc:
        raise ApplicationError(
            "That member does not exist in this project.",
            fields={field: ["Choose a member of this project."]},
        ) from exc


def simulation_client_from_input(*, project, client_id, field: str = "client_id") -> Client | None:
    """The client an OAuth `client_id` names; unknown or another project's: a 400 under `field`."""
    if client_id in (None, ""):
        return None
    client = (
        Client.objects.select_related("access_policy").filter(project=project, client_id=client_id).first()
    )
    if client is None:
        raise ApplicationError(
            "That client does not exist in this project.",
            fields={field: ["Choose a client of this project."]},
        )
    return client
