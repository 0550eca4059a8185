"""okta_user_lifecycle: Okta event hook deliveries applied to the endpoint's project's memberships.

A deactivate (or suspend) event deactivates the membership found by external ID (else email), and
the member's tokens are inactive at introspection; activate / unsuspend reactivate; a profile
update refreshes name and email within the tenant's limits; a redelivered event has one effect;
nothing outside the endpoint's project is ever touched."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from oauth2_provider.models import set_token_value

from accounts.models import Membership
from audit.context import Actor
from audit.models import AuditEvent
from federation.models import DomainClaim
from federation.services import IdentityProviderInput, identity_provider_create
from identity.clock import clock as app_clock
from oauth.models import AccessToken
from oauth.services import ClientInput, client_create
from tests.factories import MembershipFactory, UserFactory
from tests.webhooks.conftest import OKTA_SECRET, okta_body, okta_event
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db

OKTA_ID = "00u1abcdEFGH"


@pytest.fixture
def hook(make_endpoint):
    return make_endpoint("okta", handler="okta_user_lifecycle")


@pytest.fixture
def ada(project):
    user = UserFactory(email="ada@acme.test", first_name="Ada", last_name="Byron")
    return MembershipFactory(user=user, project=project, external_id=OKTA_ID)


@pytest.fixture
def deliver(sender, hook):
    def post(*events):
        response = sender.post(hook.path, okta_body(*events), {"Authorization": OKTA_SECRET})
        assert response.status_code == 200, response.content
        return response.json()

    return post


def active(membership) -> bool:
    return Membership.objects.get(pk=membership.pk).is_active


# --- Tokens at introspection ---------------------------------------------------------------------------------


@pytest.fixture
def web_client(project):
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(name="Portal app", redirect_uris=["https://app.example/cb"]),
    )
    issued.client.plain_secret = issued.client_secret
    return issued.client


def access_token_for(user, client) -> str:
    token = AccessToken(
        user=user, application=client, scope="openid", expires=app_clock.now() + timedelta(hours=1)
    )
    value = secrets.token_urlsafe(32)
    set_token_value(token, value)
    token.save()
    return value


def introspect(client, token: str) -> dict:
    credentials = base64.b64encode(f"{client.client_id}:{client.plain_secret}".encode()).decode()
    response = HttpClient().post(
        "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=f"Basic {credentials}"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_deactivate_event_deactivates_the_membership_and_its_tokens_are_inactive(deliver, ada, web_client):
    token = access_token_for(ada.user, web_client)
    assert introspect(web_client, token)["active"] is True

    deliver(okta_event("user.lifecycle.deactivate", okta_id=OKTA_ID))

    assert not active(ada)
    assert introspect(web_client, token) == {"active": False}
    assert not AccessToken.objects.filter(user=ada.user).exists()  # revoked by oauth on the signal
    event = InboundEvent.objects.get()
    assert event.status == "sent" and "Deactivated" in event.outcome
    audit = AuditEvent.objects.get(action="membership.deactivated", target_id=str(ada.pk))
    assert audit.actor_label == f"webhook:{event.endpoint.name}" and audit.actor_user is None


def test_a_redelivered_event_has_one_effect(deliver, ada):
    event = okta_event("user.lifecycle.suspend", okta_id=OKTA_ID)
    deliver(event)
    assert not active(ada)
    Membership.objects.filter(pk=ada.pk).update(is_active=True)  # reactivated in the portal since
    assert deliver(event) == {"received": 0, "duplicates": 1}  # Okta's retry of the same uuid
    assert active(ada)
    assert AuditEvent.objects.filter(action="membership.deactivated").count() == 1


def test_suspend_then_unsuspend_and_activate(deliver, ada):
    deliver(okta_event("user.lifecycle.suspend", okta_id=OKTA_ID))
    assert not active(ada)
    deliver(okta_event("user.lifecycle.unsuspend", okta_id=OKTA_ID))
    assert active(ada)
    deliver(okta_event("user.lifecycle.deactivate", okta_id=OKTA_ID))
    deliver(okta_event("user.lifecycle.activate", okta_id=OKTA_ID))
    assert active(ada)
    outcomes = list(InboundEvent.objects.order_by("created_at").values_list("outcome", flat=True))
    assert outcomes[1].startswith("Reactivated") and outcomes[3].startswith("Reactivated")


def test_already_in_that_state_changes_nothing(deliver, ada):
    deliver(okta_event("user.lifecycle.activate", okta_id=OKTA_ID))
    assert active(ada) and "already active" in InboundEvent.objects.get().outcome
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


def test_matched_by_email_when_no_external_id_matches(deliver, project):
    member = MembershipFactory(project=project, user=UserFactory(email="grace@acme.test"))
    deliver(okta_event("user.lifecycle.deactivate", okta_id="00uOTHER", login="Grace@Acme.test"))
    assert not active(member)


def test_only_the_endpoints_project_is_touched(deliver, ada, other_project):
    """The same person (same email, same external ID) in another project stays active."""
    elsewhere = MembershipFactory(project=other_project, user=ada.user)
    stranger = MembershipFactory(
        project=other_project, user=UserFactory(email="bob@acme.test"), external_id="00uBOB"
    )
    deliver(
        okta_event("user.lifecycle.deactivate", okta_id=OKTA_ID),
        okta_event("user.lifecycle.deactivate", okta_id="00uBOB", login="bob@acme.test"),
    )
    assert not active(ada)
    assert active(elsewhere) and active(stranger)
    outcomes = set(InboundEvent.objects.values_list("outcome", flat=True))
    assert any("No member of this project" in outcome for outcome in outcomes)


def test_several_events_in_one_delivery_are_each_processed(deliver, project):
    people = [MembershipFactory(project=project, external_id=f"00u{n}") for n in range(3)]
    deliver(*(okta_event("user.lifecycle.deactivate", okta_id=f"00u{n}", login="") for n in range(3)))
    assert not any(active(member) for member in people)
    assert InboundEvent.objects.filter(status="sent").count() == 3


def test_an_owner_is_not_deactivated_by_a_webhook(deliver, project, owner):
    Membership.objects.filter(project=project, user=owner).update(external_id="00uOWNER")
    deliver(okta_event("user.lifecycle.deactivate", okta_id="00uOWNER", login=owner.email))
    assert Membership.objects.get(project=project, user=owner).is_active
    event = InboundEvent.objects.get()
    assert event.status == "dead" and event.attempts == 1
    assert event.last_error == "Refused: Only an owner can deactivate or reactivate an owner."


def test_other_event_types_are_stored_and_left_alone(deliver, ada):
    deliver(okta_event("user.session.start", okta_id=OKTA_ID))
    event = InboundEvent.objects.get()
    assert event.status == "sent" and "not handled" in event.outcome and active(ada)


def test_an_event_without_a_user_target(deliver, ada):
    event = okta_event("user.lifecycle.deactivate")
    event["target"] = [{"id": "0oa1", "type": "AppInstance"}]
    deliver(event)
    assert active(ada) and "names no user" in InboundEvent.objects.get().outcome


# --- Profile updates -------------------------------------------------------------------------------------------


@pytest.fixture
def verified(project, actor):
    """Verify domains for the project (as its identity provider's claims)."""
    idp = identity_provider_create(
        project=project,
        actor=actor,
        data=IdentityProviderInput(
            kind="okta", name="Acme Okta", org_domain="acme.okta.com", client_id="0oa1", client_secret="s"
        ),
    )

    def verify(*domains: str) -> None:
        for domain in domains:
            DomainClaim.objects.create(
                project=project, identity_provider=idp, domain=domain, token="t", verified_at=app_clock.now()
            )

    return verify


def profile_event(**target):
    return okta_event("user.account.update_profile", **{"okta_id": OKTA_ID, **target})


def test_profile_update_refreshes_the_name(deliver, ada):
    deliver(profile_event(display_name="Ada Lovelace", login="ada@acme.test"))
    ada.user.refresh_from_db()
    assert (ada.user.first_name, ada.user.last_name) == ("Ada", "Lovelace")
    assert AuditEvent.objects.filter(action="user.profile_refreshed", target_id=str(ada.user.pk)).exists()


def test_profile_update_moves_the_email_between_verified_domains(deliver, ada, verified):
    verified("acme.test", "acme-new.test")
    deliver(profile_event(display_name="Ada Lovelace", login="ada@acme-new.test"))
    ada.user.refresh_from_db()
    assert ada.user.email == "ada@acme-new.test"
    assert ada.user.emailaddress_set.get(email="ada@acme-new.test").verified


def test_profile_update_never_moves_the_email_to_an_unverified_domain(deliver, ada, verified):
    verified("acme.test")
    deliver(profile_event(display_name="Ada Lovelace", login="ada@attacker.test"))
    ada.user.refresh_from_db()
    assert ada.user.email == "ada@acme.test" and ada.user.last_name == "Lovelace"
    assert "email was not changed" in InboundEvent.objects.get().outcome


def test_profile_update_leaves_an_account_shared_with_other_projects_alone(
    deliver, ada, other_project, verified
):
    verified("acme.test", "acme-new.test")
    MembershipFactory(project=other_project, user=ada.user)
    deliver(profile_event(display_name="Mallory Mallory", login="ada@acme-new.test"))
    ada.user.refresh_from_db()
    assert (ada.user.first_name, ada.user.email) == ("Ada", "ada@acme.test")
    assert "shared with other projects" in InboundEvent.objects.get().outcome
