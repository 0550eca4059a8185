"""The one scope grammar: every place that reads, checks, lists or describes a scope asks here.

Scopes are of two sorts:

- **named scopes** (`NAMED_SCOPES`): `openid`, `profile`, `email`, `fhirUser`, `launch`,
  `launch/patient`, `launch/encounter`, `offline_access`, `online_access`, and the portal API's
  `portal.read` / `portal.write`;
- **SMART resource scopes** (SMART App Launch 2, "Scopes for requesting FHIR resources"):
  `<context>/<ResourceType|*>.<permissions>[?param=value&…]`, context `patient`, `user` or
  `system`. Permissions are SMART v2 (a non-empty, in-order subset of `cruds`) or v1 (`read` →
  `rs`, `write` → `cud`, `*` → `cruds`); both are held as v2.

Nothing is read loosely: an out-of-order or unknown permission string (`.dus`, `.rd`, `.readx`)
is not a scope at all, and `scopes_parse` reports it with the reason instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from oauth2_provider.scopes import BaseScopes

# The portal API's scopes (checked by accounts/api_permissions.py): reads need one of them,
# writes need portal.write.
PORTAL_READ = "portal.read"
PORTAL_WRITE = "portal.write"
# What an automation client's portal role (Client.role) can use: an admin client administers its
# project (reads and writes), a member client only reads it (the admin APIs refuse other roles).
# A client given a role but no portal scope gets these (oauth.services), else its tokens could
# not call the portal API at all.
ROLE_SCOPES = {"admin": (PORTAL_READ, PORTAL_WRITE), "member": (PORTAL_READ,)}

# Named scopes and what they let an app do, in plain words (consent page, client forms, API).
NAMED_SCOPES = {
    "openid": "Sign you in with your account",
    "profile": "See your name",
    "email": "See your email address",
    "fhirUser": "Know which FHIR record (patient, practitioner, …) is you",
    "launch": "Open with the patient or encounter you are looking at in your health record system",
    "launch/patient": "Ask which patient to work with",
    "launch/encounter": "Ask which encounter to work with",
    "offline_access": "Keep access while you are away (refresh tokens)",
    "online_access": "Keep access while you are signed in",
    PORTAL_READ: "Read your project's users, invitations and access policies (portal API)",
    PORTAL_WRITE: "Change your project's users, invitations and access policies (portal API)",
}

SMART_PERMISSIONS = "cruds"
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
PERMISSION_WORDS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
CONTEXTS = ("patient", "user", "system")
CONTEXT_WORDS = {
    "patient": "about the selected patient",
    "user": "that you can see",
    "system": "in the whole project (no user)",
}

_RESOURCE_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<perms>[A-Za-z*]+)(?:\?(?P<query>.*))?$"
)
# FHIR result parameters: they widen or reshape what a search returns, never narrow it.
RESULT_PARAMETERS = {
    "_include",
    "_revinclude",
    "_contained",
    "_containedType",
    "_elements",
    "_summary",
    "_graph",
}
# Bounds on what one request may ask (parsing is linear, but a megabyte of scopes is an attack).
MAX_SCOPES = 100
MAX_SCOPE_STRING = 4000
_QUERY_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.:]*$")


@dataclass(frozen=True)
class ResourceScope:
    """A SMART resource scope, held in v2 form. `query` is a tuple of (param, value) pairs."""

    context: str
    resource_type: str
    permissions: str
    query: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        text = f"{self.context}/{self.resource_type}.{self.permissions}"
        return f"{text}?{urlencode(self.query, safe='|:,/')}" if self.query else text

    def describe(self) -> str:
        """Plain words: "Read and search Observation records about the selected patient (category=…)"."""
        verbs = [PERMISSION_WORDS[p] for p in self.permissions]
        action = ", ".join(verbs[:-1]) + (" and " if len(verbs) > 1 else "") + verbs[-1]
        what = "all kinds of" if self.resource_type == "*" else self.resource_type
        text = f"{action[0].upper()}{action[1:]} {what} records {CONTEXT_WORDS[self.context]}"
        if self.query:
            text += " where " + " and ".join(f"{k} is {v}" for k, v in self.query)
        if self.resource_type == "*":
            text += " (including kinds added later)"
        return text


@dataclass(frozen=True)
class IgnoredScope:
    scope: str
    reason: str


@dataclass
class ParsedScopes:
    """A scope string, read: the named scopes, the resource scopes, and what was not understood."""

    named: list[str] = field(default_factory=list)
    resources: list[ResourceScope] = field(default_factory=list)
    ignored: list[IgnoredScope] = field(default_factory=list)

    def as_strings(self) -> list[str]:
        return [*self.named, *(str(r) for r in self.resources)]


class ScopeError(ValueError):
    """A scope that is not understood; `reason` says why in plain words."""

    def __init__(self, scope: str, reason: str) -> None:
        super().__init__(f"{scope}: {reason}")
        self.scope = scope
        self.reason = reason


def _permissions(raw: str, scope: str) -> str:
    if raw in V1_PERMISSIONS:
        return V1_PERMISSIONS[raw]
    position = -1
    for letter in raw:
        index = SMART_PERMISSIONS.find(letter)
        if index <= position:
            raise ScopeError(
                scope,
                f"'{raw}' is not a permission: use read, write or * (SMART v1), or letters of "
                "'cruds', each once, in that order (SMART v2, e.g. rs)",
            )
        position = index
    return raw


def _query(raw: str, scope: str) -> tuple[tuple[str, str], ...]:
    if not raw:
        raise ScopeError(scope, "an empty query; leave out the ? or add param=value")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ScopeError(scope, "the query must be param=value pairs joined by &") from None
    for name, value in pairs:
        if not _QUERY_PARAM.match(name) or not value:
            raise ScopeError(scope, f"'{name}={value}' is not a search parameter with a value")
        if name.split(":")[0] in RESULT_PARAMETERS:
            raise ScopeError(
                scope, f"'{name}' shapes results rather than limiting them; not allowed in a scope"
            )
    if sum(1 for name, _ in pairs if name == "role") > 1:
        raise ScopeError(scope, "at most one role= per scope")
    return tuple(pairs)


def resource_scope_parse(scope: str) -> ResourceScope:
    """Parse one SMART resource scope; ScopeError when it is not one (never a loose reading)."""
    match = _RESOURCE_SCOPE.match(scope)
    if match is None:
        raise ScopeError(scope, "not a scope this server knows")
    raw_permissions = match["perms"]
    permissions = _permissions(raw_permissions, scope)
    query: tuple[tuple[str, str], ...] = ()
    if match["query"] is not None:
        if raw_permissions in V1_PERMISSIONS:
            raise ScopeError(scope, "SMART v1 scopes (.read, .write, .*) take no query; use v2 letters")
        query = _query(match["query"], scope)
    return ResourceScope(match["context"], match["type"], permissions, query)


def scope_parse(scope: str) -> str | ResourceScope:
    """A named scope (as is) or a ResourceScope; ScopeError otherwise."""
    if scope in NAMED_SCOPES:
        return scope
    return resource_scope_parse(scope)


def scopes_parse(scopes: str | list[str] | tuple[str, ...] | set[str]) -> ParsedScopes:
    """Read every scope; duplicates are dropped, the unknown are listed in `ignored` with why."""
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    parsed = ParsedScopes()
    if len(items) > MAX_SCOPES or sum(len(i) + 1 for i in items) > MAX_SCOPE_STRING:
        parsed.ignored.append(
            IgnoredScope(
                " ".join(items)[:60] + "…",
                f"too many scopes (at most {MAX_SCOPES}, {MAX_SCOPE_STRING} characters in all)",
            )
        )
        return parsed
    seen: set[str] = set()
    for item in items:
        try:
            value = scope_parse(item)
        except ScopeError as error:
            parsed.ignored.append(IgnoredScope(item, error.reason))
            continue
        key = str(value)
        if key in seen:
            continue
        seen.add(key)
        if isinstance(value, ResourceScope):
            parsed.resources.append(value)
        else:
            parsed.named.append(value)
    return parsed


def scope_is_known(scope: str) -> bool:
    try:
        scope_parse(scope)
    except ScopeError:
        return False
    return True


def scope_describe(scope: str) -> str:
    """What a scope lets an app do, in plain words (the scope itself when it is not understood)."""
    try:
        value = scope_parse(scope)
    except ScopeError:
        return scope
    return value.describe() if isinstance(value, ResourceScope) else NAMED_SCOPES[value]


def scope_errors(scopes: list[str]) -> list[str]:
    """One message per scope that is not understood (for client forms and the API)."""
    return [f"{item.scope}: {item.reason}." for item in scopes_parse(scopes).ignored]


# --- narrowing: what one scope allows of another --------------------------------------------------


def _merge_queries(
    a: tuple[tuple[str, str], ...], b: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...] | None:
    """Both sets of conditions; None when they name one parameter with different values (a
    resource server reading only one of them would see more than both allow)."""
    merged = tuple(dict.fromkeys((*a, *b)))
    values: dict[str, str] = {}
    for name, value in merged:
        if values.setdefault(name, value) != value:
            return None
    return merged


def resource_scope_narrow(requested: ResourceScope, allowed: ResourceScope) -> ResourceScope | None:
    """The part of `requested` that `allowed` permits, or None.

    Same context (`allowed.context` "*" matches any: access policies are context-free); the
    resource type of the narrower one; the permissions both have (in `cruds` order); both
    queries' conditions (all must hold). A `*` request under a typed permission becomes that type.
    """
    if allowed.context not in ("*", requested.context):
        return None
    if allowed.resource_type == "*":
        resource_type = requested.resource_type
    elif requested.resource_type in ("*", allowed.resource_type):
        resource_type = allowed.resource_type
    else:
        return None
    permissions = "".join(
        p for p in SMART_PERMISSIONS if p in requested.permissions and p in allowed.permissions
    )
    if not permissions:
        return None
    query = _merge_queries(requested.query, allowed.query)
    if query is None:
        return None
    return ResourceScope(requested.context, resource_type, permissions, query)


def resource_scope_covers(wider: ResourceScope, narrower: ResourceScope) -> bool:
    """Does `wider` allow all of `narrower`? (Used to keep the result minimal.)"""
    return (
        wider.context == narrower.context
        and wider.resource_type in ("*", narrower.resource_type)
        and set(narrower.permissions) <= set(wider.permissions)
        and set(wider.query) <= set(narrower.query)
    )


def resource_scopes_minimal(scopes: list[ResourceScope]) -> list[ResourceScope]:
    """Drop scopes another one in the list already covers (keeping the first of equals)."""
    kept: list[ResourceScope] = []
    for scope in scopes:
        if any(resource_scope_covers(other, scope) for other in kept):
            continue
        kept = [other for other in kept if not resource_scope_covers(scope, other)]
        kept.append(scope)
    return kept


class _Descriptions(dict):
    """The named scopes' words, and any resource scope described on demand (DOT's consent view
    looks every granted scope up in `get_all_scopes()`)."""

    def __missing__(self, scope: str) -> str:
        return scope_describe(scope)


class Scopes(BaseScopes):
    """DOT's scopes backend (SCOPES_BACKEND_CLASS): the named scopes, and a client's own list."""

    def get_all_scopes(self):
        return _Descriptions(NAMED_SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is not None and application.allowed_scopes:
            return [s for s in application.allowed_scopes.split() if scope_is_known(s)]
        return list(NAMED_SCOPES)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return ["openid"]
