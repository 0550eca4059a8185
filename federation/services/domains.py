"""Domain claims: a project says "addresses at this domain sign in through this provider";
it routes only once proven (DNS TXT record, or an operator in the Django admin).

The rule that keeps tenants apart: a verified domain belongs to one provider in the whole
deployment (database constraint `federation_domain_verified_once`), and consumer mail domains
are never routed, so no tenant can take `gmail.com` users to its provider.
"""

from __future__ import annotations

import ipaddress
import secrets

from django.db import IntegrityError, transaction

from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from federation.dns import txt_records
from federation.models import TXT_PREFIX, DomainClaim, IdentityProvider, VerificationMethod
from identity.clock import clock
from identity.errors import ApplicationError, ErrorCode

# Consumer mail services: their addresses belong to individuals, never to one tenant.
CONSUMER_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
        "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.ru",
        "yandex.com", "zoho.com", "qq.com", "163.com", "fastmail.com", "hey.com",
    }
)  # fmt: skip
# Registry-level suffixes under which anyone may register a name (a few common ones; a claim of
# the suffix itself would route a whole country's companies). Single labels (`com`) are refused too.
PUBLIC_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "com.au", "net.au",
        "org.au", "co.nz", "co.jp", "ne.jp", "or.jp", "co.za", "com.br", "com.cn", "com.mx",
        "co.in", "co.kr", "com.tr", "com.sg", "com.hk", "co.il", "github.io", "herokuapp.com",
        "appspot.com", "azurewebsites.net", "cloudfront.net", "vercel.app", "netlify.app",
        "pages.dev", "blogspot.com", "amazonaws.com",
    }
)  # fmt: skip
TOKEN_BYTES = 24


def domain_normalise(value: str) -> str:
    """The claimable form of a domain: lowercase, IDNA (punycode), no trailing dot.

    Raises `ApplicationError` (field `domain`) for what can never be claimed: IP literals,
    `localhost`, single labels, public suffixes and consumer mail domains.
    """
    raw = value.strip().rstrip(".").lower()
    if raw.startswith("@"):
        raw = raw[1:]
    if not raw:
        raise _invalid("Enter a domain, such as example.com.")
    if "://" in raw or "/" in raw or "@" in raw or " " in raw:
        raise _invalid("Enter the domain only, such as example.com (no address, no URL).")
    try:
        ipaddress.ip_address(raw.strip("[]"))
    except ValueError:
        pass
    else:
        raise _invalid("An IP address is not a domain.")
    try:
        domain = raw.encode("idna").decode("ascii")
    except UnicodeError:
        raise _invalid("This is not a valid domain name.") from None
    labels = domain.split(".")
    if any(
        not label or len(label) > 63 or label.startswith("-") or label.endswith("-") for label in labels
    ) or len(domain) > 253 or not all(c.isalnum() or c in "-." for c in domain):  # fmt: skip
        raise _invalid("This is not a valid domain name.")
    if domain == "localhost" or domain.endswith(".localhost") or labels[-1] in {"local", "internal", "test"}:
        raise _invalid("Local and reserved names cannot be claimed.")
    if len(labels) < 2 or domain in PUBLIC_SUFFIXES:
        raise _invalid(f"{domain} is a public suffix; claim your own domain under it.")
    if domain in CONSUMER_DOMAINS:
        raise _invalid(
            f"{domain} is a public mail service: its addresses belong to individuals, so it cannot be "
            "routed to one organisation's provider. Those people sign in with a password or Google."
        )
    return domain


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, fields={"domain": [message]})


def _verified_elsewhere(domain: str, *, exclude_pk=None) -> bool:
    return (
        DomainClaim.objects.filter(domain=domain, verified_at__isnull=False).exclude(pk=exclude_pk).exists()
    )


def _taken(domain: str) -> ApplicationError:
    message = (
        f"{domain} is already verified for another identity provider. A domain routes to one "
        "provider only; remove it there first (or ask the operator if it is not yours)."
    )
    return ApplicationError(message, code=ErrorCode.CONFLICT, status=409, fields={"domain": [message]})


@transaction.atomic
def domain_claim_create(*, identity_provider: IdentityProvider, actor: Actor, domain: str) -> DomainClaim:
    """An unverified claim of `domain` for the provider, with a fresh TXT token."""
    domain = domain_normalise(domain)
    idp = identity_provider
    if DomainClaim.objects.filter(project_id=idp.project_id, domain=domain).exists():
        message = f"{domain} is already claimed by an identity provider of this project."
        raise ApplicationError(message, code=ErrorCode.CONFLICT, status=409, fields={"domain": [message]})
    if _verified_elsewhere(domain):
        raise _taken(domain)
    try:
        with transaction.atomic():
            claim = DomainClaim.objects.create(
                project_id=idp.project_id,
                identity_provider=idp,
                domain=domain,
                token=secrets.token_urlsafe(TOKEN_BYTES),
            )
    except IntegrityError as exc:  # the same claim, concurrently
        message = f"{domain} is already claimed by an identity provider of this project."
        raise ApplicationError(message, code=ErrorCode.CONFLICT, status=409) from exc
    audit_record(
        action=AuditAction.DOMAIN_CLAIMED,
        actor=actor,
        project=idp.project,
        target=claim,
        details={"domain": domain, "identity_provider": str(idp.pk)},
    )
    return claim


@transaction.atomic
def _mark_verified(claim: DomainClaim, *, actor: Actor, method: str, details: dict) -> DomainClaim:
    claim = DomainClaim.objects.select_for_update().select_related("project").get(pk=claim.pk)
    if claim.is_verified:
        return claim
    if _verified_elsewhere(claim.domain, exclude_pk=claim.pk):
        raise _taken(claim.domain)
    claim.verified_at = clock.now()
    claim.verification_method = method
    claim.verified_by = actor.user
    try:
        with transaction.atomic():
            claim.save(update_fields=["verified_at", "verification_method", "verified_by"])
    except IntegrityError as exc:  # another project's claim was verified at the same moment
        raise _taken(claim.domain) from exc
    audit_record(
        action=AuditAction.DOMAIN_VERIFIED,
        actor=actor,
        project=claim.project,
        target=claim,
        details={"domain": claim.domain, "method": method, **details},
    )
    return claim


def domain_claim_verify_by_dns(*, claim: DomainClaim, actor: Actor) -> DomainClaim:
    """Verify the claim if `identity-portal-verification=<token>` is published as a TXT record
    at the domain. Otherwise `ApplicationError` (code `domain_not_verified`) saying what was found.

    Not one transaction: the DNS lookup (seconds, at worst) runs before any row is locked; the
    write and its audit record are one transaction (`_mark_verified`), which checks again.
    """
    if claim.is_verified:
        return claim
    if _verified_elsewhere(claim.domain, exclude_pk=claim.pk):
        raise _taken(claim.domain)
    lookup = txt_records(claim.domain)
    if lookup.problem:
        raise _not_verified(f"{lookup.problem} Publish the TXT record {claim.txt_record} and try again.")
    ours = [record for record in lookup.records if record.strip().startswith(TXT_PREFIX)]
    if claim.txt_record not in (record.strip() for record in ours):
        if ours:
            raise _not_verified(
                f"{claim.domain} publishes a verification record, but with another token (an older or "
                f"another claim's). Publish {claim.txt_record}; DNS changes can take a while to show."
            )
        raise _not_verified(
            f"{claim.domain} has {len(lookup.records)} TXT record(s), none of them {claim.txt_record}. "
            "Publish it and try again; DNS changes can take a while to show."
        )
    return _mark_verified(claim, actor=actor, method=VerificationMethod.DNS, details={})


def _not_verified(message: str) -> ApplicationError:
    return ApplicationError(message, code="domain_not_verified", status=400)


@transaction.atomic
def domain_claim_verify_by_operator(*, claim: DomainClaim, actor: Actor) -> DomainClaim:
    """An operator (Django admin) vouches for the claim; the uniqueness rules still hold."""
    return _mark_verified(claim, actor=actor, method=VerificationMethod.OPERATOR, details={})


@transaction.atomic
def domain_claim_delete(*, claim: DomainClaim, actor: Actor) -> None:
    """Remove the claim; a verified domain stops routing at once and may be claimed elsewhere."""
    audit_record(
        action=AuditAction.DOMAIN_CLAIM_DELETED,
        actor=actor,
        project=claim.project,
        target=claim,
        details={"domain": claim.domain, "was_verified": claim.is_verified},
    )
    claim.delete()
