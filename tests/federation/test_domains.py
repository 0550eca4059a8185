"""Domain claims: normalisation, refusals, DNS verification (fake resolver), the one-owner rule, routing."""

from __future__ import annotations

import dns.exception
import dns.resolver
import pytest
from django.contrib.admin.sites import site
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from audit.models import AuditEvent
from federation.models import DomainClaim
from federation.selectors import identity_provider_for_email
from federation.services import (
    domain_claim_create,
    domain_claim_delete,
    domain_claim_verify_by_dns,
    domain_claim_verify_by_operator,
    domain_normalise,
)
from identity.errors import ApplicationError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "given,normal",
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("@example.com", "example.com"),
        ("  eng.example.com ", "eng.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_domains_are_normalised(given, normal):
    assert domain_normalise(given) == normal


@pytest.mark.parametrize(
    "given,text",
    [
        ("", "Enter a domain"),
        ("localhost", "Local"),
        ("app.localhost", "Local"),
        ("192.0.2.1", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("com", "public suffix"),
        ("co.uk", "public suffix"),
        ("gmail.com", "public mail service"),
        ("Outlook.com", "public mail service"),
        ("yahoo.com", "public mail service"),
        ("icloud.com", "public mail service"),
        ("https://example.com/", "domain only"),
        ("person@example.com", "domain only"),
        ("-bad.example.com", "not a valid domain"),
        ("exa_mple.com", "not a valid domain"),
    ],
)
def test_what_can_never_be_claimed(given, text):
    with pytest.raises(ApplicationError) as excinfo:
        domain_normalise(given)
    assert text in excinfo.value.fields["domain"][0]


def test_a_claim_is_unverified_with_a_token_and_routes_nothing(idp, actor):
    claim = domain_claim_create(identity_provider=idp, actor=actor, domain="Acme.Example")
    assert claim.domain == "acme.example" and not claim.is_verified and len(claim.token) >= 32
    assert claim.txt_record == f"identity-portal-verification={claim.token}"
    assert identity_provider_for_email("jane@acme.example") is None
    assert AuditEvent.objects.filter(action="domain.claimed", target_id=str(claim.pk)).exists()


def test_tokens_differ_per_claim(idp, make_idp, actor, other_project):
    other = make_idp(project=other_project, name="Other")
    first = domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example")
    second = domain_claim_create(identity_provider=other, actor=actor, domain="acme.example")
    assert first.token != second.token


def test_the_same_domain_once_per_project(idp, make_idp, actor):
    domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example")
    with pytest.raises(ApplicationError) as excinfo:
        domain_claim_create(identity_provider=make_idp(name="Second"), actor=actor, domain="ACME.example.")
    assert excinfo.value.status == 409


def test_dns_verification_found(idp, actor, dns_zone):
    claim = domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example")
    dns_zone["acme.example"] = ["v=spf1 -all", claim.txt_record]
    claim = domain_claim_verify_by_dns(claim=claim, actor=actor)
    assert claim.is_verified and claim.verification_method == "dns" and claim.verified_by == actor.user
    assert identity_provider_for_email("Jane@ACME.example") == idp
    assert identity_provider_for_email("jane@eng.acme.example") is None  # exact domain only
    event = AuditEvent.objects.get(action="domain.verified")
    assert event.details == {"domain": "acme.example", "method": "dns"}


def test_a_long_record_split_in_strings_is_joined(idp, actor, dns_zone):
    claim = domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example")
    dns_zone["acme.example"] = [claim.txt_record + " " * 300]
    assert domain_claim_verify_by_dns(claim=claim, actor=actor).is_verified


@pytest.mark.parametrize(
    "answer,text",
    [
        (["v=spf1 -all"], "1 TXT record(s), none of them"),
        (["identity-portal-verification=someone-elses-token"], "another token"),
        (dns.resolver.NXDOMAIN, "does not exist in DNS"),
        (dns.resolver.NoAnswer, "no TXT records yet"),
        (dns.exception.Timeout, "timed out"),
        (dns.resolver.NoNameservers, "No name server answered"),
    ],
)
def test_dns_verification_says_what_is_wrong(idp, actor, dns_zone, answer, text):
    claim = domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example")
    dns_zone["acme.example"] = answer
    with pytest.raises(ApplicationError) as excinfo:
        domain_claim_verify_by_dns(claim=claim, actor=actor)
    assert text in excinfo.value.message and excinfo.value.code == "domain_not_verified"
    assert claim.txt_record in excinfo.value.message
    claim.refresh_from_db()
    assert not claim.is_verified and identity_provider_for_email("a@acme.example") is None


def test_a_domain_verified_elsewhere_cannot_be_claimed_or_verified(
    idp, make_idp, actor, dns_zone, other_project
):
    theirs = make_idp(project=other_project, name="Theirs")
    mine = domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example")
    their_claim = domain_claim_create(identity_provider=theirs, actor=actor, domain="acme.example")
    dns_zone["acme.example"] = [mine.txt_record, their_claim.txt_record]
    domain_claim_verify_by_dns(claim=mine, actor=actor)
    with pytest.raises(ApplicationError) as excinfo:
        domain_claim_verify_by_dns(claim=their_claim, actor=actor)
    assert excinfo.value.status == 409 and "already verified" in excinfo.value.message
    with pytest.raises(ApplicationError) as excinfo:
        domain_claim_verify_by_operator(claim=their_claim, actor=actor)
    assert excinfo.value.status == 409
    with pytest.raises(ApplicationError) as excinfo:
        domain_claim_create(
            identity_provider=make_idp(project=other_project, name="Third"),
            actor=actor,
            domain="acme.example",
        )
    assert excinfo.value.status == 409
    assert identity_provider_for_email("jane@acme.example") == idp


def test_the_database_allows_one_verified_owner(idp, make_idp, actor, other_project, clock):
    theirs = make_idp(project=other_project, name="Theirs")
    domain_claim_verify_by_operator(
        claim=domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example"), actor=actor
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DomainClaim.objects.create(
            project=other_project,
            identity_provider=theirs,
            domain="acme.example",
            token="t",
            verified_at=clock.now(),
        )


def test_removing_a_verified_claim_stops_routing_and_frees_the_domain(idp, make_idp, actor, other_project):
    claim = domain_claim_verify_by_operator(
        claim=domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example"), actor=actor
    )
    domain_claim_delete(claim=claim, actor=actor)
    assert identity_provider_for_email("jane@acme.example") is None
    theirs = make_idp(project=other_project, name="Theirs")
    domain_claim_verify_by_operator(
        claim=domain_claim_create(identity_provider=theirs, actor=actor, domain="acme.example"), actor=actor
    )
    assert identity_provider_for_email("jane@acme.example") == theirs


def test_an_inactive_provider_routes_nothing(idp, actor):
    from federation.services import identity_provider_input, identity_provider_update

    domain_claim_verify_by_operator(
        claim=domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example"), actor=actor
    )
    data = identity_provider_input(idp)
    data.is_active = False
    identity_provider_update(identity_provider=idp, actor=actor, data=data)
    assert identity_provider_for_email("jane@acme.example") is None


@pytest.mark.parametrize("email", ["", "no-at-sign", "jane@", "@", "jane@exa mple..com"])
def test_routing_ignores_what_is_not_an_address(email):
    assert identity_provider_for_email(email) is None


def test_operator_verifies_in_the_django_admin(idp, actor):
    claim = domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example")
    operator = UserFactory(is_staff=True, is_superuser=True)
    request = RequestFactory().post("/admin/federation/domainclaim/")
    request.user = operator
    request.session = {}
    from django.contrib.messages.storage.fallback import FallbackStorage

    request._messages = FallbackStorage(request)
    model_admin = site._registry[DomainClaim]
    model_admin.verify_by_operator(request, DomainClaim.objects.filter(pk=claim.pk))
    claim.refresh_from_db()
    assert claim.verification_method == "operator" and claim.verified_by == operator
    event = AuditEvent.objects.get(action="domain.verified")
    assert event.actor_user == operator and event.details["method"] == "operator"
    assert [str(m) for m in request._messages] == ["Verified 1 domain(s)."]
    assert not model_admin.has_change_permission(request) and "token" in model_admin.exclude


def test_admin_never_shows_the_client_secret(idp):
    from django.test import Client

    from federation.models import IdentityProvider

    operator = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator)
    response = client.get(f"/admin/federation/identityprovider/{idp.pk}/change/")
    assert response.status_code == 200
    assert "upstream-secret-value" not in response.content.decode()
    assert site._registry[IdentityProvider].exclude == ("client_secret",)
