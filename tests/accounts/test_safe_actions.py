"""Safe actions (#13 item 12): every destructive or security action of the portal and My account
asks first on its own page (identity.portal.Confirmation, templates/confirm.html). GET on the
action's URL states the consequence and changes nothing; POST does it; the detail page links to
the confirmation instead of posting. Admins are not offered what only owners may do
(accounts.selectors.actor_may), and the services still refuse it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client as BrowserClient
from django.urls import reverse

from accounts.models import Membership, SecurityRequest
from accounts.selectors import MemberAction, actor_may, member_permissions
from accounts.services.invitations import InviteInput, invitation_create, invitation_revoke
from accounts.services.memberships import membership_deactivate
from audit.context import Actor
from audit.models import AuditEvent
from identity.errors import ApplicationError
from tests.factories import (
    DEFAULT_PASSWORD,
    AccessPolicyFactory,
    AccessPolicyRuleFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def portal(name: str, project, **kwargs) -> str:
    return reverse(f"portal:{name}", kwargs={"project_slug": project.slug, **kwargs})


@dataclass
class Case:
    url: str
    state: Callable[[], Any]  # what the action changes, read fresh
    words: tuple[str, ...]  # the consequence in plain words, on the confirmation page
    data: dict | None = None


def _actor(user) -> Actor:
    return Actor(user=user, ip_address="203.0.113.7", user_agent="pytest")


def _member(project, email: str, role: str = "member") -> Membership:
    user = UserFactory(email=email)
    user.emailaddress_set.update(verified=True)
    return MembershipFactory(project=project, user=user, role=role)


def _client(project, name="Scheduler"):
    from oauth.services import ClientInput, client_create

    return client_create(
        project=project, actor=Actor.system(), data=ClientInput(name=name, grant_types=["client_credentials"])
    ).client


def deactivate(project, admin) -> Case:
    m = _member(project, "ada@example.test")
    return Case(
        portal("membership_deactivate", project, membership_id=m.pk),
        lambda: Membership.objects.get(pk=m.pk).is_active,
        ("Deactivate ", "ada@example.test)?", "loses access", "token", "You can reactivate them later"),
    )


def sign_out(project, admin) -> Case:
    m = _member(project, "bo@example.test")
    return Case(
        portal("membership_sign_out", project, membership_id=m.pk),
        lambda: AuditEvent.objects.filter(action="membership.signed_out").count(),
        ("Sign ", "bo@example.test) out of", "refresh token", "consents", "sign in again"),
    )


def unlock(project, admin) -> Case:
    m = _member(project, "cy@example.test")
    return Case(
        portal("membership_unlock", project, membership_id=m.pk),
        lambda: AuditEvent.objects.filter(action="account.unlocked").count(),
        ("Unlock sign-in for ", "cy@example.test)?", "failed attempts"),
    )


def mfa_reset(project, admin) -> Case:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    m = _member(project, "di@example.test")
    TOTP.activate(m.user, generate_totp_secret())
    return Case(
        portal("membership_mfa_reset", project, membership_id=m.pk),
        lambda: Authenticator.objects.filter(user=m.user).count(),
        (
            "Reset two-factor authentication?",
            "Authenticator app",
            "signs them out everywhere",
            "cannot be undone",
        ),
    )


def revoke_invitation(project, admin) -> Case:
    invited = invitation_create(
        project=project, actor=_actor(admin), data=InviteInput(email="ed@example.test")
    )
    return Case(
        portal("invitation_revoke", project, invitation_id=invited.invitation.pk),
        lambda: SecurityRequest.objects.get(pk=invited.invitation.pk).revoked_at is None,
        ("Revoke the invitation for ed@example.test?", "link", "deactivated", "invite them again"),
    )


def delete_policy(project, admin) -> Case:
    policy = AccessPolicyFactory(project=project, name="Night shift")
    AccessPolicyRuleFactory(policy=policy)
    return Case(
        portal("policy_delete", project, policy_id=policy.pk),
        lambda: policy.__class__.objects.filter(pk=policy.pk).exists(),
        ("Delete “Night shift”?", "Nobody uses this policy", "cannot be undone"),
    )


def delete_client(project, admin) -> Case:
    client = _client(project)
    return Case(
        portal("client_delete", project, client_pk=client.pk),
        lambda: client.__class__.objects.filter(pk=client.pk).exists(),
        ("Delete Scheduler?", "revoked", "cannot be undone", "disable it instead"),
    )


def disable_client(project, admin) -> Case:
    client = _client(project)
    return Case(
        portal("client_disable", project, client_pk=client.pk),
        lambda: client.__class__.objects.get(pk=client.pk).is_active,
        ("Disable Scheduler?", "revoked at once", "enable it again"),
    )


def rotate_client_secret(project, admin) -> Case:
    client = _client(project)
    return Case(
        portal("client_rotate", project, client_pk=client.pk),
        lambda: client.__class__.objects.get(pk=client.pk).client_secret,
        ("Rotate the secret of Scheduler?", "shown to you once", "keeps working for 24 hour(s)"),
    )


def _endpoint(project, admin):
    from webhooks import services

    return services.endpoint_create(
        project=project,
        actor=_actor(admin),
        name="Okta prod",
        scheme="standard",
        handler="generic",
        secret="whsec_" + "A" * 32,
    ).endpoint


def delete_webhook(project, admin) -> Case:
    endpoint = _endpoint(project, admin)
    return Case(
        portal("webhook_delete", project, endpoint_id=endpoint.pk),
        lambda: endpoint.__class__.objects.filter(pk=endpoint.pk).exists(),
        ("Delete “Okta prod”?", "404", "0 stored event(s)", "cannot be undone"),
    )


def rotate_webhook_secret(project, admin) -> Case:
    endpoint = _endpoint(project, admin)
    return Case(
        portal("webhook_rotate_secret", project, endpoint_id=endpoint.pk),
        lambda: endpoint.__class__.objects.get(pk=endpoint.pk).secret_rotated_at,
        ("Rotate the secret of “Okta prod”?", "24 hours", "New secret"),
    )


def _subscription(project, admin):
    from webhooks import subscriptions

    return subscriptions.subscription_create(
        project=project, actor=_actor(admin), url="https://127.0.0.1:9/hook", events=["user.invited"]
    ).subscription


def delete_subscription(project, admin) -> Case:
    subscription = _subscription(project, admin)
    return Case(
        portal("event_subscription_delete", project, subscription_id=subscription.pk),
        lambda: subscription.__class__.objects.filter(pk=subscription.pk).exists(),
        ("Delete this event subscription?", "https://127.0.0.1:9/hook", "cannot be undone"),
    )


def rotate_subscription_secret(project, admin) -> Case:
    subscription = _subscription(project, admin)
    return Case(
        portal("event_subscription_rotate_secret", project, subscription_id=subscription.pk),
        lambda: subscription.__class__.objects.get(pk=subscription.pk).secret_rotated_at,
        ("Rotate the signing secret?", "shown to you once", "24 hours"),
    )


def _idp(project, admin):
    from federation.services import IdentityProviderInput, identity_provider_create

    return identity_provider_create(
        project=project,
        actor=_actor(admin),
        data=IdentityProviderInput(
            kind="okta",
            name="Acme Okta",
            org_domain="acme.okta.com",
            client_id="0oa1",
            client_secret="s" * 20,
        ),
    )


def delete_idp(project, admin) -> Case:
    from federation.services.domains import domain_claim_create

    idp = _idp(project, admin)
    domain_claim_create(identity_provider=idp, actor=_actor(admin), domain="acme-health.com")
    return Case(
        portal("idp_delete", project, idp_id=idp.pk),
        lambda: idp.__class__.objects.filter(pk=idp.pk).exists(),
        ("Delete “Acme Okta”?", "acme-health.com", "cannot be undone"),
    )


def remove_domain(project, admin) -> Case:
    from federation.services.domains import domain_claim_create

    idp = _idp(project, admin)
    claim = domain_claim_create(identity_provider=idp, actor=_actor(admin), domain="acme-health.com")
    return Case(
        portal("idp_domain_delete", project, idp_id=idp.pk, domain_id=claim.pk),
        lambda: claim.__class__.objects.filter(pk=claim.pk).exists(),
        ("Remove acme-health.com from “Acme Okta”?", "no longer routes"),
    )


PORTAL_ACTIONS = [
    deactivate,
    sign_out,
    unlock,
    mfa_reset,
    revoke_invitation,
    delete_policy,
    delete_client,
    disable_client,
    rotate_client_secret,
    delete_webhook,
    rotate_webhook_secret,
    delete_subscription,
    rotate_subscription_secret,
    delete_idp,
    remove_domain,
]


def confirmation_form(html: str) -> str:
    """The confirmation page's one POST form (to the page's own URL), with its danger button."""
    forms = re.findall(r'<form method="post"[^>]*>.*?</form>', html, re.S)
    asking = [f for f in forms if 'class="danger"' in f]
    assert len(asking) == 1, forms
    return asking[0]


@pytest.mark.parametrize("make", PORTAL_ACTIONS, ids=lambda make: make.__name__)
def test_get_asks_and_changes_nothing_then_post_does_it(make, client, project, owner, settings, mailoutbox):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    client.force_login(owner)
    case = make(project, owner)
    before, audit_rows = case.state(), AuditEvent.objects.count()

    page = client.get(case.url)
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    for words in case.words:
        assert words in html, words
    form = confirmation_form(html)
    assert "action=" not in form.split(">")[0]  # posts to the URL it was shown at
    assert re.search(r'<a href="[^"]+">Cancel</a>', form)
    assert case.state() == before and AuditEvent.objects.count() == audit_rows  # a GET changes nothing

    done = client.post(case.url, case.data or {})
    assert done.status_code in (200, 302, 303), done.content[:400]
    assert case.state() != before
    assert AuditEvent.objects.count() > audit_rows


def test_detail_pages_link_to_the_confirmation_instead_of_posting(
    admin_client, project, admin_user, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    member = _member(project, "fay@example.test")
    client = _client(project)
    endpoint = _endpoint(project, admin_user)
    subscription = _subscription(project, admin_user)
    pages = {
        portal("membership", project, membership_id=member.pk): [
            portal("membership_deactivate", project, membership_id=member.pk),
            portal("membership_sign_out", project, membership_id=member.pk),
        ],
        portal("client", project, client_pk=client.pk): [
            portal("client_rotate", project, client_pk=client.pk),
            portal("client_disable", project, client_pk=client.pk),
            portal("client_delete", project, client_pk=client.pk),
        ],
        portal("webhook", project, endpoint_id=endpoint.pk): [
            portal("webhook_rotate_secret", project, endpoint_id=endpoint.pk),
            portal("webhook_delete", project, endpoint_id=endpoint.pk),
        ],
        portal("event_subscription", project, subscription_id=subscription.pk): [
            portal("event_subscription_rotate_secret", project, subscription_id=subscription.pk),
            portal("event_subscription_delete", project, subscription_id=subscription.pk),
        ],
    }
    for detail, actions in pages.items():
        html = admin_client.get(detail).content.decode()
        for action in actions:
            assert f'href="{action}"' in html, (detail, action)
            assert f'action="{action}"' not in html, (detail, action)


def test_a_refused_post_leaves_everything_as_it_was(client, project, owner):
    """The last owner cannot be deactivated: the confirmation's POST is refused and said so."""
    client.force_login(owner)
    membership = Membership.objects.get(user=owner, project=project)
    page = client.post(portal("membership_deactivate", project, membership_id=membership.pk), follow=True)
    assert "The last active owner cannot be deactivated." in page.content.decode()
    membership.refresh_from_db()
    assert membership.is_active


def test_a_policy_in_use_is_not_offered_for_deletion(admin_client, project, member_membership):
    policy = AccessPolicyFactory(project=project, name="Used")
    AccessPolicyRuleFactory(policy=policy)
    member_membership.access_policy = policy
    member_membership.save()
    html = admin_client.get(portal("policy_delete", project, policy_id=policy.pk)).content.decode()
    assert "cannot be done now" in html and "Used by 1 membership." in html
    assert 'class="danger"' not in html


def test_enable_stays_post_only_and_resend_asks_without_acting(admin_client, project, admin_user, mailoutbox):
    invited = invitation_create(
        project=project, actor=_actor(admin_user), data=InviteInput(email="gil@example.test")
    )
    before = SecurityRequest.objects.get(pk=invited.invitation.pk).secret_hash
    resend = admin_client.get(portal("invitation_resend", project, invitation_id=invited.invitation.pk))
    assert resend.status_code == 200 and "stops working at once" in resend.content.decode()
    assert SecurityRequest.objects.get(pk=invited.invitation.pk).secret_hash == before
    client = _client(project)
    assert admin_client.get(portal("client_enable", project, client_pk=client.pk)).status_code == 405


# --- Only what the acting role may do -----------------------------------------------------------


@pytest.fixture
def owner_membership(project, owner):
    return Membership.objects.get(project=project, user=owner)


def test_an_admin_is_not_offered_owner_actions_on_an_owner(admin_client, project, owner_membership):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(owner_membership.user, generate_totp_secret())
    html = admin_client.get(portal("membership", project, membership_id=owner_membership.pk)).content.decode()
    assert portal("membership_deactivate", project, membership_id=owner_membership.pk) not in html
    assert portal("membership_mfa_reset", project, membership_id=owner_membership.pk) not in html
    assert "Only an owner can deactivate an owner" in html
    role = re.search(r'<select name="role"[^>]*>.*?</select>', html, re.S).group(0)
    assert "disabled" in role  # shown, not offered

    # the confirmation page names the rule instead of a button, and the service still refuses
    confirm = admin_client.get(portal("membership_deactivate", project, membership_id=owner_membership.pk))
    assert "Only an owner can deactivate an owner." in confirm.content.decode()
    assert 'class="danger"' not in confirm.content.decode()
    refused = admin_client.post(
        portal("membership_deactivate", project, membership_id=owner_membership.pk), follow=True
    )
    assert "Only an owner can deactivate or reactivate an owner." in refused.content.decode()
    owner_membership.refresh_from_db()
    assert owner_membership.is_active
    mfa = admin_client.get(portal("membership_mfa_reset", project, membership_id=owner_membership.pk))
    assert (
        "Only an owner can reset an owner" in mfa.content.decode()
        and 'class="danger"' not in mfa.content.decode()
    )


def test_an_admin_is_not_offered_the_owner_role(admin_client, project, member_membership):
    edit = admin_client.get(
        portal("membership", project, membership_id=member_membership.pk)
    ).content.decode()
    role = re.search(r'<select name="role"[^>]*>.*?</select>', edit, re.S).group(0)
    assert 'value="owner"' not in role and 'value="admin"' in role
    invite = admin_client.get(portal("invite", project)).content.decode()
    role = re.search(r'<select name="role"[^>]*>.*?</select>', invite, re.S).group(0)
    assert 'value="owner"' not in role
    # and posting it anyway is refused, nothing changed
    response = admin_client.post(
        portal("membership", project, membership_id=member_membership.pk), {"role": "owner"}
    )
    assert response.status_code == 400
    member_membership.refresh_from_db()
    assert member_membership.role == "member"


def test_an_owner_is_offered_everything(client, project, owner, admin_membership):
    client.force_login(owner)
    other_owner = _member(project, "second.owner@example.test", role="owner")
    html = client.get(portal("membership", project, membership_id=other_owner.pk)).content.decode()
    assert portal("membership_deactivate", project, membership_id=other_owner.pk) in html
    role = re.search(r'<select name="role"[^>]*>.*?</select>', html, re.S).group(0)
    assert 'value="owner"' in role and "disabled" not in role
    invite = client.get(portal("invite", project)).content.decode()
    assert 'value="owner"' in re.search(r'<select name="role"[^>]*>.*?</select>', invite, re.S).group(0)


def test_an_admin_is_not_offered_revoking_an_owners_invitation(admin_client, project, owner):
    owner_actor = _actor(owner)
    invited_owner = invitation_create(
        project=project, actor=owner_actor, data=InviteInput(email="new.owner@example.test", role="owner")
    )
    invited_member = invitation_create(
        project=project, actor=owner_actor, data=InviteInput(email="hal@example.test")
    )
    html = admin_client.get(portal("invitations", project)).content.decode()
    assert portal("invitation_revoke", project, invitation_id=invited_member.invitation.pk) in html
    assert portal("invitation_revoke", project, invitation_id=invited_owner.invitation.pk) not in html
    admin = Membership.objects.filter(project=project, role="admin").get().user
    with pytest.raises(ApplicationError) as refused:
        invitation_revoke(invitation=invited_owner.invitation, actor=_actor(admin))
    assert refused.value.code == "permission_denied" and refused.value.status == 403
    assert SecurityRequest.objects.get(pk=invited_owner.invitation.pk).revoked_at is None


def test_the_rule_is_one_place(project, owner, admin_membership):
    """Services and pages ask accounts.selectors.actor_may; member_permissions is it for a page."""
    owner_membership = Membership.objects.get(project=project, user=owner)
    admin = _actor(admin_membership.user)
    assert not actor_may(actor=admin, action=MemberAction.DEACTIVATE, membership=owner_membership)
    assert actor_may(actor=admin, action=MemberAction.SIGN_OUT, membership=owner_membership)
    assert actor_may(actor=_actor(owner), action=MemberAction.DEACTIVATE, membership=admin_membership)
    may = member_permissions(actor=admin, membership=owner_membership, actor_membership=admin_membership)
    assert not (
        may.deactivate or may.mfa_reset or may.change_role or may.grant_owner or may.revoke_invitation
    )
    assert may.sign_out and may.unlock
    with pytest.raises(ApplicationError):
        membership_deactivate(membership=owner_membership, actor=admin)
    assert actor_may(actor=Actor.system(), action=MemberAction.DEACTIVATE, membership=owner_membership)


# --- My account ---------------------------------------------------------------------------------


def _signed_in(email: str, user_agent: str) -> BrowserClient:
    browser = BrowserClient(HTTP_USER_AGENT=user_agent)
    response = browser.post(reverse("account_login"), {"login": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return browser


@pytest.fixture
def person(project):
    return _member(project, "ivy@example.test").user


def test_ending_a_session_asks_first(person):
    from accounts.services.sessions import session_list, session_sid

    laptop = _signed_in(person.email, "Laptop Firefox")
    _signed_in(person.email, "Phone Safari")
    phone = next(s for s in session_list(user=person) if "Phone" in s.user_agent)
    url = reverse("session_end", kwargs={"sid": session_sid(phone)})
    assert f'href="{url}"' in laptop.get(reverse("sessions")).content.decode()

    page = laptop.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "End this session?" in html and "Phone Safari" in html
    assert "signed out at its next request" in html
    assert len(session_list(user=person)) == 2

    assert laptop.post(url).status_code == 303
    assert [s.user_agent for s in session_list(user=person)] == ["Laptop Firefox"]


def test_ending_the_other_sessions_asks_first(person):
    from accounts.services.sessions import session_list

    laptop = _signed_in(person.email, "Laptop")
    _signed_in(person.email, "Phone")
    _signed_in(person.email, "Tablet")
    url = reverse("sessions_end_others")
    html = laptop.get(url).content.decode()
    assert "End all other sessions?" in html and "2 other browser session(s)" in html
    assert len(session_list(user=person)) == 3
    assert laptop.post(url).status_code == 303
    assert [s.user_agent for s in session_list(user=person)] == ["Laptop"]


def test_this_browsers_session_is_not_ended_from_the_list(person):
    from accounts.services.sessions import session_list, session_sid

    laptop = _signed_in(person.email, "Laptop")
    mine = session_list(user=person)[0]
    assert laptop.get(reverse("session_end", kwargs={"sid": session_sid(mine)})).status_code == 404
    assert laptop.get(reverse("session_end", kwargs={"sid": "0" * 32})).status_code == 404


def test_removing_a_connected_app_asks_first(person, project):
    from oauth.models import Consent

    app = _client(project, name="Lab portal")
    Consent.objects.create(user=person, client=app, scopes="openid patient/*.rs")
    browser = _signed_in(person.email, "Laptop")
    url = reverse("connected_app_remove", kwargs={"client_id": app.client_id})
    assert f'href="{url}"' in browser.get(reverse("connected_apps")).content.decode()

    html = browser.get(url).content.decode()
    assert "Remove Lab portal&#x27;s access?" in html and "revoked at once" in html
    assert Consent.objects.filter(user=person, client=app).exists()
    assert browser.post(url).status_code == 303
    assert not Consent.objects.filter(user=person, client=app).exists()

    other = _client(project, name="Not mine")
    assert (
        browser.get(reverse("connected_app_remove", kwargs={"client_id": other.client_id})).status_code == 404
    )


def test_unlinking_a_sign_in_identity_asks_first(person):
    from allauth.socialaccount.models import SocialAccount

    linked = SocialAccount.objects.create(user=person, provider="gone-provider", uid="g-ivy")
    browser = _signed_in(person.email, "Laptop")
    url = reverse("identity_unlink", kwargs={"identity_id": linked.pk})
    assert f'href="{url}"' in browser.get(reverse("sign_in_methods")).content.decode()
    html = browser.get(url).content.decode()
    assert "Unlink Deleted identity provider?" in html and "g-ivy" in html and "no longer sign in" in html
    assert SocialAccount.objects.filter(pk=linked.pk).exists()

    # the only way in: the reason instead of the button
    person.set_unusable_password()
    person.save()
    browser.force_login(person)
    blocked = browser.get(url).content.decode()
    assert "only way to sign in" in blocked and 'class="danger"' not in blocked
    person.set_password(DEFAULT_PASSWORD)
    person.save()
    browser.force_login(person)
    assert browser.post(url).status_code == 303
    assert not SocialAccount.objects.filter(pk=linked.pk).exists()
