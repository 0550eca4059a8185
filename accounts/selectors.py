"""Read operations of the accounts app. Every query is scoped to a project (tenant)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import BooleanField, Count, F, Func, Model, Q, QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse

from accounts.models import ADMIN_ROLES, AccessPolicy, Membership, Project, Role, User
from identity.errors import ApplicationError

if TYPE_CHECKING:
    from audit.context import Actor

MEMBERSHIP_SORTS = {
    "name": ("user__first_name", "user__last_name"),
    "-name": ("-user__first_name", "-user__last_name"),
    "email": ("user__email",),
    "-email": ("-user__email",),
    "role": ("role",),
    "-role": ("-role",),
    "created": ("created_at",),
    "-created": ("-created_at",),
    "last_sign_in": ("user__last_login",),
    "-last_sign_in": ("-user__last_login",),
}


def _get_or_404(queryset: QuerySet, message: str, **lookup) -> Model:
    """`queryset.get(**lookup)`, with a missing row or a malformed id both answered by 404."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404(message) from exc


def project_list_for_user(*, user: User) -> QuerySet[Project]:
    """Projects where `user` has an active membership."""
    return (
        Project.objects.filter(memberships__user=user, memberships__is_active=True)
        .distinct()
        .order_by("name")
    )


def sign_in_hint(request: HttpRequest | None) -> dict[str, str]:
    """Which project a sign-in page serves: `?project=<slug>`, or the client of the
    authorization request being continued (`next=/o/authorize?client_id=…`). Empty when
    neither is known. Read from the query string and the posted form alike."""
    if request is None:
        return {}
    values = {**request.GET.dict(), **request.POST.dict()}
    if values.get("project"):
        return {"project_slug": values["project"][:100]}
    next_url = urlsplit(values.get("next", ""))
    if next_url.path == reverse("oauth:authorize"):
        client_id = (parse_qs(next_url.query).get("client_id") or [""])[0]
        if client_id:
            return {"client_id": client_id[:100]}
    return {}


def sign_in_project(request: HttpRequest | None) -> Project | None:
    """The project whose sign-in page this is (its branding is shown), from `sign_in_hint`."""
    hint = sign_in_hint(request)
    if "client_id" in hint:
        client_model = apps.get_model("oauth", "Client")  # accounts never imports oauth
        return Project.objects.filter(
            pk__in=client_model.objects.filter(client_id=hint["client_id"]).values("project_id")
        ).first()
    if "project_slug" in hint:
        return Project.objects.filter(slug=hint["project_slug"]).first()
    return None


def sign_in_event_projects(*, request: HttpRequest | None, user: User | None) -> list[Project]:
    """The projects whose audit logs a sign-in event (signed in, failed, signed out, password
    changed) belongs to: the project of the client or page being signed in to when the request
    names one, else every project the user is a member of (active or not: a deactivated
    member's attempts matter to their admins). Empty for an unknown address on a page that
    names no project; such an event is recorded once, without a project."""
    named = sign_in_project(request)
    projects = [named] if named is not None else []
    if projects or user is None or user.pk is None:
        return projects
    return list(Project.objects.filter(memberships__user=user).distinct().order_by("name"))


def project_list_administered(*, user: User) -> QuerySet[Project]:
    return (
        Project.objects.filter(
            memberships__user=user, memberships__is_active=True, memberships__role__in=ADMIN_ROLES
        )
        .distinct()
        .order_by("name")
    )


def membership_of(*, user: User, project: Project) -> Membership | None:
    return Membership.objects.filter(user=user, project=project, is_active=True).first()


def project_get_for_admin(
    *, user: User, slug: str | None = None, project_id=None
) -> tuple[Project, Membership]:
    """The project, if `user` administers it.

    404 when the user is not an active member (a project's existence is not
    revealed), 403 when they are a member without an admin role.
    """
    lookup = {"slug": slug} if slug is not None else {"pk": project_id}
    project = _get_or_404(Project.objects.all(), "No such project.", **lookup)
    membership = membership_of(user=user, project=project)
    if membership is None:
        raise Http404("No such project.")
    if not membership.is_admin:
        raise PermissionDenied("Only project owners and admins can manage this project.")
    return project, membership


class _MemberSearch(QuerySet):
    """`membership_list`'s result when it searches on PostgreSQL: `count()` asks `counted`, the
    same search in the shape PostgreSQL counts fastest (`_member_search`). Anything derived from it
    (another filter, a slice, `values()`) is a new queryset without `counted`: it counts the
    ordinary way."""

    counted: QuerySet | None = None

    def count(self) -> int:
        if self.counted is not None and self._result_cache is None:
            return self.counted.count()
        return super().count()


class _AnyOf(Func):
    """`lhs = ANY(ARRAY(subquery))` (PostgreSQL): the planner reads the subquery once and looks its
    values up through an index of `lhs` (a bitmap it can OR with others), where `lhs IN (subquery)`
    inside an OR is a hashed subplan probed by every row of the table."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def _member_search(*, project: Project, query: str, for_count: bool = False) -> Q:
    """Members having every word of `query` in their email, first or last name, or external ID,
    case-insensitively (UPPER(col) LIKE %WORD%; trigram-indexed on PostgreSQL, migrations 0009 and
    0010). The same matches in two shapes, each what one query of a list page does best on
    PostgreSQL (100,000 members: docs/OAUTH.md, performance notes). Both search each column in a
    subquery of its own, served by its own trigram index and rechecking only that column, never
    row by row through the join to the users.

    * the page (`for_count=False`): the planner hashes the subqueries' results and walks the
      project's members newest first until the page is full;
    * the count (`for_count=True`): the members of the matching users are looked up by user id
      through an index, OR-ed with the external IDs' trigram index: work in proportion to the
      matches, where the page's shape would probe every member of the project to count them.
    """
    condition = Q()
    for word in query.split():
        external = Q(external_id__icontains=word)
        matches = Q()
        for column in ("email", "first_name", "last_name"):
            users = User.objects.filter(**{f"{column}__icontains": word}).order_by().values("pk")
            if for_count:
                from django.contrib.postgres.expressions import ArraySubquery

                matches |= Q(_AnyOf(F("user_id"), ArraySubquery(users)))
            else:
                matches |= Q(user_id__in=users)
        if for_count:
            matches |= external
        else:
            matches |= Q(pk__in=Membership.objects.filter(external, project=project).order_by().values("pk"))
        condition &= matches
    return condition


def membership_list(
    *, project: Project, query: str = "", role: str = "", status: str = "", sort: str = ""
) -> QuerySet[Membership]:
    """Members of `project`, searched by name/email/external ID and filtered by role/status.

    Each carries `awaiting_acceptance`: invited and not arrived yet (an open invitation: not
    accepted, not revoked). Status `invited` is those; `active` is active members who arrived.
    """
    from django.db.models import Exists, OuterRef

    from accounts.models import SecurityRequest, SecurityRequestKind

    open_invitation = SecurityRequest.objects.filter(
        membership=OuterRef("pk"),
        kind=SecurityRequestKind.INVITE,
        used_at__isnull=True,
        revoked_at__isnull=True,
    )
    query = query.strip()
    counts_apart = bool(query.split()) and connection.vendor == "postgresql"

    def members(*, for_count: bool) -> QuerySet[Membership]:
        qs = (_MemberSearch(Membership) if counts_apart and not for_count else Membership.objects).filter(
            project=project
        )
        qs = qs.annotate(awaiting_acceptance=Exists(open_invitation))
        if query:
            qs = qs.filter(_member_search(project=project, query=query, for_count=for_count))
        if role:
            qs = qs.filter(role=role)
        if status == "active":
            qs = qs.filter(is_active=True, awaiting_acceptance=False)
        elif status == "invited":
            qs = qs.filter(is_active=True, awaiting_acceptance=True)
        elif status == "inactive":
            qs = qs.filter(is_active=False)
        return qs

    qs = (
        members(for_count=False)
        .select_related("user", "access_policy")
        .order_by(*MEMBERSHIP_SORTS.get(sort, ("-created_at",)), "id")
    )
    if counts_apart:
        assert isinstance(qs, _MemberSearch)  # members(for_count=False) made it one
        qs.counted = members(for_count=True)
    return qs


def membership_get(*, project: Project, membership_id) -> Membership:
    """A membership of `project`; any other project's membership is a 404."""
    return _get_or_404(
        Membership.objects.select_related("user", "access_policy", "invited_by"),
        "No such membership.",
        project=project,
        pk=membership_id,
    )


def access_policy_list(*, project: Project, query: str = "") -> QuerySet[AccessPolicy]:
    qs = AccessPolicy.objects.filter(project=project).annotate(member_count=Count("memberships"))
    if query.strip():
        qs = qs.filter(name__icontains=query.strip())
    return qs.prefetch_related("rules").order_by("name")


def access_policy_get(*, project: Project, policy_id) -> AccessPolicy:
    return _get_or_404(
        AccessPolicy.objects.prefetch_related("rules"),
        "No such access policy.",
        project=project,
        pk=policy_id,
    )


def access_policy_from_input(
    *, project: Project, policy_id, field: str = "access_policy"
) -> AccessPolicy | None:
    """The policy an id sent as input names: None for none; not one of `project`'s is a 400.

    Unlike `access_policy_get` (a 404 for a URL naming another tenant's policy), an id in a
    request body is a bad field value: `validation_failed` with the error under `field`.
    """
    if policy_id is None:
        return None
    try:
        return access_policy_get(project=project, policy_id=policy_id)
    except Http404 as exc:
        raise ApplicationError(
            "That access policy does not exist in this project.",
            fields={field: ["Choose a policy of this project."]},
        ) from exc


def invitation_list(*, project: Project, status: str = "", query: str = "") -> QuerySet:
    """Invitations of `project` with a computed status filter (pending/accepted/expired/revoked)."""
    from accounts.models import SecurityRequest, SecurityRequestKind
    from identity.clock import clock

    now = clock.now()
    qs = SecurityRequest.objects.filter(project=project, kind=SecurityRequestKind.INVITE).select_related(
        "user", "invited_by", "membership"
    )
    open_ = Q(used_at__isnull=True, revoked_at__isnull=True)
    if status == "pending":
        qs = qs.filter(open_, expires_at__gt=now)
    elif status == "expired":
        qs = qs.filter(open_, expires_at__lte=now)
    elif status == "accepted":
        qs = qs.filter(used_at__isnull=False, revoked_at__isnull=True)
    elif status == "revoked":
        qs = qs.filter(revoked_at__isnull=False)
    if query.strip():
        qs = qs.filter(
            Q(email__icontains=query.strip())
            | Q(user__first_name__icontains=query.strip())
            | Q(user__last_name__icontains=query.strip())
        )
    return qs.order_by("-created_at")


def invitation_get(*, project: Project, invitation_id):
    from accounts.models import SecurityRequest, SecurityRequestKind

    return _get_or_404(
        SecurityRequest.objects.select_related("user", "project", "membership"),
        "No such invitation.",
        project=project,
        kind=SecurityRequestKind.INVITE,
        pk=invitation_id,
    )


def bulk_invite_get(*, project: Project, job_id):
    from accounts.models import BulkInvite

    return _get_or_404(BulkInvite.objects.all(), "No such bulk invite.", project=project, pk=job_id)


def member_sign_in_methods(*, project: Project, memberships) -> dict:
    """How each member signs in, for a page of `memberships`: {user_id: ["Password", "<provider>", …]}.

    Two queries whatever the page size. Federated identities are allauth SocialAccounts; only
    this project's providers are named (another tenant's provider shows as "Another
    organisation's provider"). The federation model is reached by label: accounts never
    imports the federation app.
    """
    from allauth.socialaccount.models import SocialAccount
    from django.apps import apps

    users = {m.user_id: m.user for m in memberships}
    methods: dict = {user_id: [] for user_id in users}
    for user_id, user in users.items():
        if user.has_usable_password():
            methods[user_id].append("Password")
    links = list(SocialAccount.objects.filter(user_id__in=users).values_list("user_id", "provider"))
    identity_provider = apps.get_model("federation", "IdentityProvider")
    names = dict(
        identity_provider.objects.filter(project=project, provider_id__in={p for _, p in links}).values_list(
            "provider_id", "name"
        )
    )
    for user_id, provider_id in links:
        label = names.get(provider_id, "Another organisation's provider")
        if label not in methods[user_id]:
            methods[user_id].append(label)
    return methods


# allauth mfa authenticator types that are a second factor (recovery codes only stand in for one).
FACTOR_TYPES = ("totp", "webauthn")
FACTOR_LABELS = {"totp": "Authenticator app", "webauthn": "Passkey / security key"}


def user_factor_count(*, user: User) -> int:
    """How many second factors (authenticator app, passkeys) `user` has enrolled."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user_id=user.pk, type__in=FACTOR_TYPES).count()


def mfa_required_for(*, user: User) -> bool:
    """Does a project `user` is an active member of require a second factor (Project.mfa_required)?"""
    return Membership.objects.filter(user_id=user.pk, is_active=True, project__mfa_required=True).exists()


def member_mfa_factors(*, memberships) -> dict:
    """The second factors of each member of a page of `memberships`:
    {user_id: ["Authenticator app", "Passkey / security key"]}. One query."""
    from allauth.mfa.models import Authenticator

    factors: dict = {m.user_id: [] for m in memberships}
    rows = (
        Authenticator.objects.filter(user_id__in=factors, type__in=FACTOR_TYPES)
        .values_list("user_id", "type")
        .distinct()
        .order_by("type")
    )
    for user_id, kind in rows:
        factors[user_id].append(FACTOR_LABELS[kind])
    return factors


def membership_fhir_user(*, user, project: Project) -> str | None:
    """The `fhirUser` claim (SMART): the member's FHIR profile (`Practitioner/123`) as an absolute
    URL on the project's FHIR base URL; None without either."""
    if user is None or not project.fhir_base_url:
        return None
    profile = (
        Membership.objects.filter(user=user, project=project, is_active=True)
        .values_list("profile", flat=True)
        .first()
    )
    return f"{project.fhir_base_url}/{profile}" if profile else None


def user_belongs_to_project_alone(*, user: User, project: Project) -> bool:
    """Is `user`'s account this project's alone (no membership in any other project, not an
    operator)? Then the project's admins may change what the account is (its name, email,
    second factors) and the project's provider or webhooks may speak for it; otherwise the
    account is also someone else's way in, and only an operator changes it."""
    if user.is_staff or user.is_superuser:
        return False
    return not Membership.objects.filter(user_id=user.pk).exclude(project_id=project.pk).exists()


def user_email_verified(*, user: User) -> bool:
    """The user has an email address and it is verified (allauth's EmailAddress): the
    `email_verified` claim, and a condition of getting tokens (oauth.rules, in SQL there)."""
    from allauth.account.models import EmailAddress

    return (
        bool(user.email)
        and EmailAddress.objects.filter(user_id=user.pk, email__iexact=user.email, verified=True).exists()
    )


def member_connected_apps(*, membership: Membership) -> list:
    """The apps of the member's project they have approved (oauth's Consent rows, reached by
    label: accounts never imports oauth), newest first, with their clients."""
    consent = apps.get_model("oauth", "Consent")
    return list(
        consent.objects.filter(user_id=membership.user_id, client__project_id=membership.project_id)
        .select_related("client")
        .order_by("-granted_at")
    )


def member_open_invitation(*, membership: Membership):
    """The member's invitation that has not been accepted or revoked (pending or expired), or None."""
    from accounts.models import SecurityRequest, SecurityRequestKind

    return (
        SecurityRequest.objects.filter(
            membership=membership,
            kind=SecurityRequestKind.INVITE,
            used_at__isnull=True,
            revoked_at__isnull=True,
        )
        .order_by("-created_at")
        .first()
    )


# --- What an actor may do (the owner-only rules) ---------------------------------------------------
# One place: services refuse with these (accounts.services.memberships, .mfa, .invitations) and the
# portal offers only what they allow (`member_permissions` on the user and invitation pages).


class MemberAction(StrEnum):
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    CHANGE_ROLE = "change_role"
    MFA_RESET = "mfa_reset"
    REVOKE_INVITATION = "revoke_invitation"
    SIGN_OUT = "sign_out"
    UNLOCK = "unlock"
    EDIT_PROFILE = "edit_profile"


# Actions on an owner's membership that only owners take (admins take them on everyone else).
# Making someone an owner is an owner's too (`actor_may_grant_owner`).
OWNER_ONLY_ON_OWNERS = frozenset(
    {
        MemberAction.DEACTIVATE,
        MemberAction.REACTIVATE,
        MemberAction.CHANGE_ROLE,
        MemberAction.MFA_RESET,
        MemberAction.REVOKE_INVITATION,
        MemberAction.EDIT_PROFILE,
    }
)


def actor_is_owner(*, project: Project, actor: Actor, actor_membership: Membership | None = None) -> bool:
    """Whether `actor` has an owner's rights in `project`: operators' commands (system actors),
    superusers, an active owner. An automation client is at most an admin. `actor_membership`
    (the acting user's own membership, when the page already holds it) saves the query."""
    if actor.is_system:
        return True
    if actor.user is None:
        return False
    if actor.user.is_superuser:
        return True
    if actor_membership is not None and actor_membership.user_id == actor.user.pk:
        return actor_membership.is_active and actor_membership.role == Role.OWNER
    return Membership.objects.filter(
        project=project, user=actor.user, role=Role.OWNER, is_active=True
    ).exists()


def actor_may_grant_owner(
    *, project: Project, actor: Actor, actor_membership: Membership | None = None
) -> bool:
    """May `actor` make someone an owner (or invite one)? Owners only."""
    return actor_is_owner(project=project, actor=actor, actor_membership=actor_membership)


def actor_may(
    *, actor: Actor, action: MemberAction, membership: Membership, actor_membership: Membership | None = None
) -> bool:
    """May `actor` take `action` on `membership` (of the actor's project)? Owners act on
    everyone; admins on everyone but owners for the actions in OWNER_ONLY_ON_OWNERS."""
    if action in OWNER_ONLY_ON_OWNERS and membership.role == Role.OWNER:
        return actor_is_owner(project=membership.project, actor=actor, actor_membership=actor_membership)
    return True


@dataclass(frozen=True)
class MemberPermissions:
    """What the portal offers the acting admin on one membership (templates: `may.deactivate`)."""

    deactivate: bool
    reactivate: bool
    change_role: bool
    grant_owner: bool
    mfa_reset: bool
    revoke_invitation: bool
    sign_out: bool
    unlock: bool
    edit_profile: bool  # name and email; also needs the account to be this project's alone


def member_permissions(
    *, actor: Actor, membership: Membership, actor_membership: Membership | None = None
) -> MemberPermissions:
    """`actor_may` for every MemberAction on `membership`, with at most one query."""
    is_owner = actor_is_owner(project=membership.project, actor=actor, actor_membership=actor_membership)
    owner_target = membership.role == Role.OWNER

    def may(action: MemberAction) -> bool:
        return is_owner or not (owner_target and action in OWNER_ONLY_ON_OWNERS)

    return MemberPermissions(
        deactivate=may(MemberAction.DEACTIVATE),
        reactivate=may(MemberAction.REACTIVATE),
        change_role=may(MemberAction.CHANGE_ROLE),
        grant_owner=is_owner,
        mfa_reset=may(MemberAction.MFA_RESET),
        revoke_invitation=may(MemberAction.REVOKE_INVITATION),
        sign_out=may(MemberAction.SIGN_OUT),
        unlock=may(MemberAction.UNLOCK),
        edit_profile=may(MemberAction.EDIT_PROFILE)
        and user_belongs_to_project_alone(user=membership.user, project=membership.project),
    )


def membership_counts(*, project: Project) -> dict[str, dict[str, int]]:
    """Members of `project` by role and status, for its overview: {role: {"active", "invited",
    "deactivated", "total"}} plus "all". Invited = not yet accepted (`membership_list`'s
    `awaiting_acceptance`). One query whatever the project's size."""
    rows = (
        membership_list(project=project)
        .order_by()
        .values("role")
        .annotate(
            active=Count("pk", filter=Q(is_active=True, awaiting_acceptance=False)),
            invited=Count("pk", filter=Q(is_active=True, awaiting_acceptance=True)),
            deactivated=Count("pk", filter=Q(is_active=False)),
        )
    )
    statuses = ("active", "invited", "deactivated")
    counts = {role: dict.fromkeys((*statuses, "total"), 0) for role in (*Role.values, "all")}
    for row in rows:
        for status in statuses:
            counts[row["role"]][status] += row[status]
            counts["all"][status] += row[status]
    for numbers in counts.values():
        numbers["total"] = sum(numbers[status] for status in statuses)
    return counts
