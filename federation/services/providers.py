"""Identity providers: create, update, delete, with the per-kind rules (presets derive the issuer)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction

from accounts.models import Project
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from federation.models import DEFAULT_SCOPES, IdentityProvider, MatchBy, ProviderKind
from federation.urls_policy import outbound_url_problem
from identity.errors import ApplicationError

GOOGLE_ISSUER = "https://accounts.google.com"
REQUIRED = "This field is required."
# RFC 6749 §3.3 scope-token.
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")
_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_USER_POOL_ID = re.compile(r"^(?P<region>[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d)_[A-Za-z0-9]+$")
_OKTA_AUTH_SERVER_PATH = re.compile(r"^/oauth2/[A-Za-z0-9_-]+$")


@dataclass
class IdentityProviderInput:
    """What an administrator sets. `client_secret=None` on update keeps the stored secret."""

    kind: str
    name: str
    client_id: str
    client_secret: str | None = None
    issuer: str = ""
    org_domain: str = ""
    aws_region: str = ""
    user_pool_id: str = ""
    scopes: list[str] = field(default_factory=lambda: DEFAULT_SCOPES.split())
    pkce: bool = True
    match_by: str = MatchBy.EMAIL
    jit_provisioning: bool = False
    required: bool = False
    is_active: bool = True


def identity_provider_input(identity_provider: IdentityProvider) -> IdentityProviderInput:
    """The stored values as input (secret left out), to which a partial update applies its changes."""
    idp = identity_provider
    return IdentityProviderInput(
        kind=idp.kind,
        name=idp.name,
        client_id=idp.client_id,
        client_secret=None,
        issuer=idp.issuer if idp.kind == ProviderKind.OIDC else "",
        org_domain=idp.org_domain,
        aws_region=idp.aws_region,
        user_pool_id=idp.user_pool_id,
        scopes=idp.scope_list,
        pkce=idp.pkce,
        match_by=idp.match_by,
        jit_provisioning=idp.jit_provisioning,
        required=idp.required,
        is_active=idp.is_active,
    )


def _host_of(value: str) -> tuple[str, str]:
    """(host, path) of an org/tenant domain given as `acme.okta.com` or `https://acme.okta.com/...`."""
    value = value.strip()
    parts = urlsplit(value if "://" in value else f"https://{value}")
    if parts.scheme != "https" or parts.query or parts.fragment or parts.username or parts.port:
        raise ValueError
    host = (parts.hostname or "").lower().rstrip(".")
    if not _HOST.match(host):
        raise ValueError
    return host, parts.path.rstrip("/")


def _okta_issuer(org_domain: str) -> str:
    """`acme` → https://acme.okta.com; an org URL or custom domain as given; a custom
    authorization server keeps its `/oauth2/<id>` path (its issuer includes it)."""
    host, path = _host_of(org_domain if "." in org_domain else f"{org_domain.strip()}.okta.com")
    if path and not _OKTA_AUTH_SERVER_PATH.match(path):
        raise ValueError
    return f"https://{host}{path}"


def _auth0_issuer(org_domain: str) -> str:
    """`acme` → https://acme.auth0.com/ (Auth0 publishes its issuer with the trailing slash)."""
    host, path = _host_of(org_domain if "." in org_domain else f"{org_domain.strip()}.auth0.com")
    if path:
        raise ValueError
    return f"https://{host}/"


def _derive(data: IdentityProviderInput, errors: dict[str, list[str]]) -> dict[str, str]:
    """The stored issuer and preset fields for `data.kind`; problems go to `errors`."""
    kind = data.kind
    if kind == ProviderKind.GOOGLE:
        return {"issuer": GOOGLE_ISSUER, "org_domain": "", "aws_region": "", "user_pool_id": ""}
    if kind == ProviderKind.OIDC:
        issuer = data.issuer.strip()
        if not issuer:
            errors["issuer"] = [REQUIRED]
        elif problem := outbound_url_problem(issuer):
            errors["issuer"] = [problem]
        return {"issuer": issuer, "org_domain": "", "aws_region": "", "user_pool_id": ""}
    if kind in (ProviderKind.OKTA, ProviderKind.AUTH0):
        org_domain = data.org_domain.strip()
        issuer = ""
        if not org_domain:
            errors["org_domain"] = [REQUIRED]
        else:
            try:
                issuer = _okta_issuer(org_domain) if kind == ProviderKind.OKTA else _auth0_issuer(org_domain)
            except ValueError:
                example = "acme.okta.com" if kind == ProviderKind.OKTA else "acme.eu.auth0.com"
                errors["org_domain"] = [f"Give the domain only, such as {example} (https, no query)."]
        return {"issuer": issuer, "org_domain": org_domain, "aws_region": "", "user_pool_id": ""}
    # Cognito
    region, pool = data.aws_region.strip(), data.user_pool_id.strip()
    if not region:
        errors["aws_region"] = [REQUIRED]
    elif not _AWS_REGION.match(region):
        errors["aws_region"] = ["Give an AWS region such as eu-west-1."]
    match = _USER_POOL_ID.match(pool)
    if not pool:
        errors["user_pool_id"] = [REQUIRED]
    elif not match:
        errors["user_pool_id"] = ["Give the user pool ID, such as eu-west-1_AbC123xyz."]
    elif region and match.group("region") != region:
        errors["user_pool_id"] = [f"This user pool is in {match.group('region')}, not {region}."]
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool}"
    return {"issuer": issuer, "org_domain": "", "aws_region": region, "user_pool_id": pool}


def _validate(
    data: IdentityProviderInput, *, project: Project, existing: IdentityProvider | None
) -> dict[str, object]:
    errors: dict[str, list[str]] = {}
    if data.kind not in ProviderKind.values:
        raise ApplicationError(
            "The identity provider is not valid.",
            fields={"kind": [f"Choose one of {', '.join(ProviderKind.values)}."]},
        )
    if existing is not None and data.kind != existing.kind:
        errors["kind"] = ["The kind cannot be changed (the callback URL depends on it); add a new provider."]
    name = data.name.strip()
    if not name:
        errors["name"] = [REQUIRED]
    elif (
        IdentityProvider.objects.filter(project=project, name__iexact=name)
        .exclude(pk=getattr(existing, "pk", None))
        .exists()
    ):
        errors["name"] = ["Another identity provider of this project has this name."]
    client_id = data.client_id.strip()
    if not client_id:
        errors["client_id"] = [REQUIRED]
    secret = (data.client_secret or "").strip()
    if existing is None and not secret:
        errors["client_secret"] = [REQUIRED]
    scopes = list(dict.fromkeys(s for s in data.scopes if s))
    bad = [s for s in scopes if not _SCOPE_TOKEN.match(s)]
    if bad:
        errors["scopes"] = [f"Not a valid scope: {', '.join(bad)}."]
    elif "openid" not in scopes:
        errors["scopes"] = ["OpenID Connect sign-in needs the openid scope."]
    if data.match_by not in MatchBy.values:
        errors["match_by"] = ["Choose email or subject."]
    if data.match_by == MatchBy.EMAIL and "email" not in scopes and "scopes" not in errors:
        errors["scopes"] = ["Matching by email needs the email scope."]
    derived = _derive(data, errors)
    if errors:
        raise ApplicationError("The identity provider is not valid.", fields=errors)
    values: dict[str, object] = {
        **derived,
        "kind": data.kind,
        "name": name,
        "client_id": client_id,
        "scopes": " ".join(scopes),
        "pkce": data.pkce,
        "match_by": data.match_by,
        "jit_provisioning": data.jit_provisioning,
        "required": data.required,
        "is_active": data.is_active,
    }
    if secret:
        values["client_secret"] = secret
    return values


def _name_taken() -> ApplicationError:
    return ApplicationError(
        "The identity provider is not valid.",
        fields={"name": ["Another identity provider of this project has this name."]},
    )


@transaction.atomic
def identity_provider_create(
    *, project: Project, actor: Actor, data: IdentityProviderInput
) -> IdentityProvider:
    """A new provider of `project`. Raises `ApplicationError` (field errors) when the input is invalid."""
    values = _validate(data, project=project, existing=None)
    try:
        with transaction.atomic():
            idp = IdentityProvider.objects.create(project=project, **values)
    except IntegrityError as exc:  # a concurrent create with the same name
        raise _name_taken() from exc
    audit_record(
        action=AuditAction.IDP_CREATED,
        actor=actor,
        project=project,
        target=idp,
        details={"kind": idp.kind, "issuer": idp.issuer, "client_id": idp.client_id},
    )
    return idp


@transaction.atomic
def identity_provider_update(
    *, identity_provider: IdentityProvider, actor: Actor, data: IdentityProviderInput
) -> IdentityProvider:
    """Replace the settings with `data`; `data.client_secret` None or blank keeps the stored secret."""
    idp = IdentityProvider.objects.select_for_update().get(pk=identity_provider.pk)
    values = _validate(data, project=idp.project, existing=idp)
    changed = sorted(k for k, v in values.items() if getattr(idp, k) != v)
    for key, value in values.items():
        setattr(idp, key, value)
    try:
        with transaction.atomic():
            idp.save()
    except IntegrityError as exc:
        raise _name_taken() from exc
    audit_record(
        action=AuditAction.IDP_UPDATED,
        actor=actor,
        project=idp.project,
        target=idp,
        details={"changed": ["client_secret" if k == "client_secret" else k for k in changed]},
    )
    return idp


@transaction.atomic
def identity_provider_delete(*, identity_provider: IdentityProvider, actor: Actor) -> None:
    """Delete the provider and its domain claims (their domains stop routing at once)."""
    idp = identity_provider
    domains = list(idp.domains.values_list("domain", flat=True))
    audit_record(
        action=AuditAction.IDP_DELETED,
        actor=actor,
        project=idp.project,
        target=idp,
        details={"kind": idp.kind, "domains": domains},
    )
    idp.delete()


__all__ = [
    "GOOGLE_ISSUER",
    "IdentityProviderInput",
    "identity_provider_create",
    "identity_provider_delete",
    "identity_provider_input",
    "identity_provider_update",
]
