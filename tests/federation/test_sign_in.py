"""Federated sign-in end to end over HTTP, with an HTTP-level fake of Google (tests/support/upstream_fake.py).

The Django test client plays the browser; the fake plays Google's servers (discovery, JWKS,
token endpoint with PKCE) and the person signing in there (`upstream.authorize`).
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from accounts.models import Membership, SecurityRequest, SecurityRequestKind, User
from audit.models import AuditAction, AuditEvent
from federation.adapters import SocialAccountAdapter
from federation.models import MatchBy
from federation.services import (
    IdentityProviderInput,
    domain_claim_create,
    domain_claim_verify_by_operator,
    identity_provider_create,
)
from tests.factories import MembershipFactory, UserFactory
from tests.support.upstream_fake import FakeUpstream, fake_session_factory, new_rsa_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def upstream(monkeypatch) -> FakeUpstream:
    fake = FakeUpstream()
    monkeypatch.setattr(SocialAccountAdapter, "get_requests_session", fake_session_factory(fake))
    return fake


@pytest.fixture
def google(project, actor, upstream):
    project.allowed_sign_in_methods = ["password", "google", "oidc"]
    project.save()
    idp = identity_provider_create(
        project=project,
        actor=actor,
        data=IdentityProviderInput(
            kind="google",
            name="Acme Google",
            client_id=upstream.client_id,
            client_secret=upstream.client_secret,
        ),
    )
    claim = domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example")
    domain_claim_verify_by_operator(claim=claim, actor=actor)
    return idp


def _start(client, idp, *, next_url: str = "") -> str:
    url = reverse("oidc_login", kwargs={"provider_id": idp.provider_id}) + "?process=login"
    if next_url:
        url += f"&next={next_url}"
    response = client.post(url)
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def _sign_in(client, upstream, idp, **claims):
    return client.get(upstream.authorize(_start(client, idp), **claims))


def _signed_in_user(client):
    session_user = client.session.get("_auth_user_id")
    return User.objects.filter(pk=session_user).first() if session_user else None


def _refusals(reason: str):
    return AuditEvent.objects.filter(action=AuditAction.FEDERATED_SIGN_IN_REFUSED, details__reason=reason)


# --- the authorization request ------------------------------------------------------------------


def test_the_authorization_request_carries_state_nonce_pkce_and_the_registered_callback(
    client, google, upstream
):
    location = _start(client, google)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["redirect_uri"] == f"http://testserver/accounts/oidc/{google.provider_id}/login/callback/"
    assert set(query["scope"].split()) == set(google.scope_list) >= {"openid", "email"}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert len(query["nonce"]) >= 32 and len(query["state"]) >= 12


def test_a_sign_in_must_start_with_a_post_never_a_cross_site_get(client, google, upstream):
    response = client.get(reverse("oidc_login", kwargs={"provider_id": google.provider_id}))
    assert response.status_code == 200  # allauth's "continue?" page, nothing redirected
    assert not upstream.codes and not any("authorize" in r for r in upstream.requests_seen)


# --- verification of the ID token (Google) ------------------------------------------------------


def test_valid_id_token_signs_in_the_user_matched_by_verified_email(client, google, upstream, project):
    user = MembershipFactory(project=project, user=UserFactory(email="alice@acme.example")).user
    response = _sign_in(
        client, upstream, google, sub="g-alice", email="alice@acme.example", email_verified=True
    )
    assert response.status_code == 302
    assert _signed_in_user(client) == user
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == (google.provider_id, "g-alice")
    assert AuditEvent.objects.filter(action=AuditAction.IDENTITY_LINKED, target_id=str(user.pk)).exists()


def test_bad_signature_is_refused(client, google, upstream, project):
    MembershipFactory(project=project, user=UserFactory(email="alice@acme.example"))
    location = _start(client, google)
    forged = new_rsa_key(upstream.keys[0].get("kid"))  # same kid, another key
    original = upstream.id_token
    upstream.id_token = lambda **kw: original(**{**kw, "key": forged})  # type: ignore[method-assign]
    response = client.get(upstream.authorize(location, email="alice@acme.example", email_verified=True))
    assert response.status_code == 400
    assert "signature is not valid" in response.content.decode()
    assert _signed_in_user(client) is None
    assert _refusals("bad_signature").count() == 1
    assert not SocialAccount.objects.exists()


@pytest.mark.parametrize(
    ("claims", "reason", "text"),
    [
        (
            {"aud": "someone-else.apps.googleusercontent.com"},
            "wrong_audience",
            "meant for a different application",
        ),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired", "has expired"),
        ({"iss": "https://evil.example"}, "wrong_issuer", "different sign-in service"),
        (
            {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200},
            "issued_in_future",
            "dated in the future",
        ),
    ],
)
def test_bad_claims_are_refused_with_a_clear_page(client, google, upstream, project, claims, reason, text):
    MembershipFactory(project=project, user=UserFactory(email="alice@acme.example"))
    response = _sign_in(client, upstream, google, email="alice@acme.example", email_verified=True, **claims)
    assert response.status_code == 400
    assert text in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert _signed_in_user(client) is None
    assert _refusals(reason).count() == 1


def test_wrong_nonce_is_refused(client, google, upstream, project):
    MembershipFactory(project=project, user=UserFactory(email="alice@acme.example"))
    location = _start(client, google)
    callback = upstream.authorize(location, email="alice@acme.example", email_verified=True)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    upstream.codes[code].nonce = "a-nonce-from-another-session"
    response = client.get(callback)
    assert response.status_code == 400
    assert _signed_in_user(client) is None
    assert _refusals("wrong_nonce").count() == 1


def test_a_callback_replayed_in_another_browser_session_is_refused(client, google, upstream, project):
    from django.test import Client

    MembershipFactory(project=project, user=UserFactory(email="alice@acme.example"))
    callback = upstream.authorize(_start(client, google), email="alice@acme.example", email_verified=True)
    victim = Client()  # a browser that never started this sign-in (login CSRF)
    response = victim.get(callback)
    assert response.status_code == 400
    assert _signed_in_user(victim) is None
    assert not SocialAccount.objects.exists()


def test_unverified_email_never_matches_an_account(client, google, upstream, project):
    MembershipFactory(project=project, user=UserFactory(email="alice@acme.example"))
    response = _sign_in(client, upstream, google, email="alice@acme.example", email_verified=False)
    assert response.status_code == 403
    assert "Ask your administrator" in response.content.decode()
    assert _signed_in_user(client) is None
    assert _refusals("unknown_person").count() == 1


def test_hs256_and_none_algorithms_are_refused(client, google, upstream, project):
    from jwcrypto import jwk

    MembershipFactory(project=project, user=UserFactory(email="alice@acme.example"))
    location = _start(client, google)
    secret_key = jwk.JWK(
        kty="oct", k="c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", kid=upstream.keys[0].get("kid")
    )
    original = upstream.id_token
    upstream.id_token = lambda **kw: original(  # type: ignore[method-assign]
        **{**kw, "key": secret_key, "header": {"alg": "HS256", "kid": secret_key.get("kid")}}
    )
    response = client.get(upstream.authorize(location, email="alice@acme.example", email_verified=True))
    assert response.status_code == 400
    assert _refusals("unsupported_algorithm").count() == 1


def test_a_rotated_signing_key_is_fetched_once_on_its_unknown_kid(client, google, upstream, project):
    MembershipFactory(project=project, user=UserFactory(email="alice@acme.example"))
    _sign_in(client, upstream, google, email="alice@acme.example", email_verified=True)
    client.logout()
    jwks_fetches = sum("certs" in r for r in upstream.requests_seen)
    upstream.keys.insert(0, new_rsa_key("google-key-2"))  # the provider rotates
    response = _sign_in(client, upstream, google, email="alice@acme.example", email_verified=True)
    assert response.status_code == 302 and _signed_in_user(client) is not None
    assert sum("certs" in r for r in upstream.requests_seen) == jwks_fetches + 1


def test_a_token_response_without_id_token_is_refused(client, google, upstream, project):
    upstream.token_override = {"access_token": "ya29.x", "token_type": "Bearer", "expires_in": 3599}
    response = _sign_in(client, upstream, google, email="alice@acme.example", email_verified=True)
    assert response.status_code == 400
    assert _refusals("no_id_token").count() == 1


# --- matching, linking, provisioning ----------------------------------------------------------------


def test_a_linked_identity_signs_in_by_subject_even_after_the_email_changes(
    client, google, upstream, project
):
    user = MembershipFactory(project=project, user=UserFactory(email="alice@acme.example")).user
    _sign_in(client, upstream, google, sub="g-alice", email="alice@acme.example", email_verified=True)
    client.logout()
    _sign_in(
        client,
        upstream,
        google,
        sub="g-alice",
        email="alice.smith@acme.example",
        email_verified=True,
        given_name="Alice",
        family_name="Smith",
    )
    user.refresh_from_db()
    assert _signed_in_user(client) == user
    assert (user.email, user.first_name, user.last_name) == ("alice.smith@acme.example", "Alice", "Smith")


def test_email_outside_the_providers_verified_domains_never_matches(
    client, google, upstream, project, other_project
):
    MembershipFactory(project=other_project, user=UserFactory(email="bob@other.example"))
    response = _sign_in(client, upstream, google, email="bob@other.example", email_verified=True)
    assert response.status_code == 403
    assert _signed_in_user(client) is None
    assert not SocialAccount.objects.exists()


def test_a_user_of_another_project_is_not_let_in(client, google, upstream, other_project):
    MembershipFactory(project=other_project, user=UserFactory(email="carol@acme.example"))
    response = _sign_in(client, upstream, google, email="carol@acme.example", email_verified=True)
    assert response.status_code == 403
    assert _refusals("not_a_member").count() == 1


def test_match_by_subject_links_a_user_invited_by_external_id_only(client, google, upstream, project, actor):
    google.match_by = MatchBy.SUBJECT
    google.save()
    membership = MembershipFactory(project=project, user=UserFactory(email=None), external_id="g-0042")
    response = _sign_in(
        client, upstream, google, sub="g-0042", email="dave@gmail.example", email_verified=True
    )
    assert response.status_code == 302
    assert _signed_in_user(client) == membership.user


def test_jit_provisioning_creates_a_membership_with_the_project_defaults(
    client, google, upstream, project, policy
):
    project.default_access_policy = policy
    project.save()
    google.jit_provisioning = True
    google.save()
    response = _sign_in(
        client,
        upstream,
        google,
        sub="g-erin",
        email="erin@acme.example",
        email_verified=True,
        given_name="Erin",
        family_name="Example",
    )
    assert response.status_code == 302
    user = _signed_in_user(client)
    assert (user.email, user.get_full_name()) == ("erin@acme.example", "Erin Example")
    membership = Membership.objects.get(user=user, project=project)
    assert (membership.role, membership.access_policy) == ("member", policy)
    assert user.emailaddress_set.get().verified


def test_jit_never_provisions_an_unverified_email(client, google, upstream, project):
    google.jit_provisioning = True
    google.save()
    response = _sign_in(client, upstream, google, email="frank@acme.example", email_verified=False)
    assert response.status_code == 403
    assert not User.objects.filter(email="frank@acme.example").exists()
    assert _refusals("email_not_verified").count() == 1


def test_a_pending_invitation_is_accepted_by_the_first_federated_sign_in(
    client, google, upstream, project, admin_user
):
    from accounts.services.invitations import InviteInput, invitation_create
    from audit.context import Actor

    result = invitation_create(
        project=project, actor=Actor(user=admin_user), data=InviteInput(email="gina@acme.example")
    )
    response = _sign_in(client, upstream, google, email="gina@acme.example", email_verified=True)
    assert response.status_code == 302
    invitation = SecurityRequest.objects.get(membership=result.membership, kind=SecurityRequestKind.INVITE)
    assert invitation.used_at is not None  # accepted; its set-password link no longer works


def test_a_deactivated_membership_is_refused(client, google, upstream, project):
    MembershipFactory(project=project, user=UserFactory(email="hank@acme.example"), is_active=False)
    response = _sign_in(client, upstream, google, email="hank@acme.example", email_verified=True)
    assert response.status_code == 403
    assert _refusals("membership_inactive").count() == 1


def test_the_projects_allowed_sign_in_methods_are_enforced(client, google, upstream, project):
    MembershipFactory(project=project, user=UserFactory(email="ivy@acme.example"))
    project.allowed_sign_in_methods = ["password"]
    project.save()
    response = _sign_in(client, upstream, google, email="ivy@acme.example", email_verified=True)
    assert response.status_code == 403
    assert _refusals("method_not_allowed").count() == 1


def test_a_disabled_provider_starts_no_sign_in(client, google, upstream):
    google.is_active = False
    google.save()
    url = reverse("oidc_login", kwargs={"provider_id": google.provider_id}) + "?process=login"
    response = client.post(url)
    assert response.status_code == 400
    assert "turned off" in response.content.decode()


# --- email-first sign-in ---------------------------------------------------------------------


def test_email_first_routes_a_verified_domain_to_its_provider_with_login_hint(client, google, upstream):
    response = client.post(reverse("account_login"), {"login": "Alice@ACME.example"})
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(upstream.discovery["authorization_endpoint"])
    assert query["login_hint"] == ["alice@acme.example"]


def test_an_unverified_domain_routes_nowhere(client, project, actor, upstream, google):
    domain_claim_create(identity_provider=google, actor=actor, domain="unproven.example")
    response = client.post(reverse("account_login"), {"login": "someone@unproven.example"})
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_email_first_answers_the_same_for_known_and_unknown_addresses(client, project):
    UserFactory(email="known@plain.example")
    known = client.post(reverse("account_login"), {"login": "known@plain.example"})
    unknown = client.post(reverse("account_login"), {"login": "nobody@plain.example"})
    assert known.status_code == unknown.status_code == 200

    def page(response, email):
        text = response.content.decode().replace(email, "EMAIL")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)

    assert page(known, "known@plain.example") == page(unknown, "nobody@plain.example")


def test_email_first_rejects_a_malformed_address_with_a_field_error(client):
    response = client.post(reverse("account_login"), {"login": "not-an-email"})
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()


def test_a_required_provider_refuses_password_sign_in_and_reset(client, google, project):
    google.required = True
    google.save()
    user = MembershipFactory(project=project, user=UserFactory(email="jack@acme.example")).user
    user.set_password("a-long-password-1")
    user.save()
    response = client.post(
        reverse("account_login"), {"login": "jack@acme.example", "password": "a-long-password-1"}
    )
    assert response.status_code == 200
    assert "sign in with Acme Google" in response.content.decode()
    assert _signed_in_user(client) is None
    response = client.post(reverse("account_reset_password"), {"email": "jack@acme.example"})
    assert "sign in with Acme Google" in response.content.decode()
    assert not SecurityRequest.objects.filter(user=user, kind=SecurityRequestKind.RESET).exists()


# --- after sign-in: My account ----------------------------------------------------------------


def test_unlinking_the_only_way_in_is_refused_then_allowed_once_a_password_exists(
    client, google, upstream, project
):
    google.jit_provisioning = True
    google.save()
    _sign_in(client, upstream, google, sub="g-kim", email="kim@acme.example", email_verified=True)
    user = _signed_in_user(client)
    account = SocialAccount.objects.get(user=user)
    page = client.get(reverse("sign_in_methods"))
    assert "Acme Google" in page.content.decode()
    response = client.post(reverse("sign_in_methods"), {"identity_id": account.pk})
    assert response.status_code == 409
    assert "only way to sign in" in response.content.decode()
    user.set_password("a-long-password-1")
    user.save()
    client.force_login(user)
    response = client.post(reverse("sign_in_methods"), {"identity_id": account.pk})
    assert response.status_code == 303
    assert not SocialAccount.objects.filter(pk=account.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.IDENTITY_UNLINKED).count() == 1


def test_the_admins_user_list_shows_how_each_user_signs_in_and_when(
    client, google, upstream, project, admin_client, other_project, actor
):
    alice = MembershipFactory(project=project, user=UserFactory(email="alice@acme.example")).user
    _sign_in(client, upstream, google, sub="g-alice", email="alice@acme.example", email_verified=True)
    # Alice also has an identity at another tenant's provider: its name is not shown here.
    foreign = identity_provider_create(
        project=other_project,
        actor=actor,
        data=IdentityProviderInput(
            kind="okta", name="Globex Okta", org_domain="globex.okta.com", client_id="x", client_secret="s"
        ),
    )
    SocialAccount.objects.create(user=alice, provider=foreign.provider_id, uid="00u-alice")
    page = admin_client.get(
        reverse("portal:users", kwargs={"project_slug": project.slug}) + "?sort=-last_sign_in"
    )
    text = page.content.decode()
    row = text[text.index("alice@acme.example") :].split("</tr>")[0]
    assert "Acme Google" in row and "Another organisation&#x27;s provider" in row
    assert "Globex Okta" not in text
    assert "Never" not in row  # signed in just now


def test_connect_process_cannot_link_an_identity_to_whoever_is_signed_in(client, google, upstream, project):
    signed_in = MembershipFactory(project=project, user=UserFactory(email="owner@elsewhere.example")).user
    client.force_login(signed_in)
    url = reverse("oidc_login", kwargs={"provider_id": google.provider_id}) + "?process=connect"
    location = client.post(url)["Location"]
    response = client.get(upstream.authorize(location, sub="g-stranger", email="stranger@gmail.example"))
    assert response.status_code == 403  # treated as a sign-in by an unknown person, refused
    assert not SocialAccount.objects.filter(user=signed_in).exists()


# --- review findings: takeovers that must stay impossible ------------------------------------


def test_an_admin_cannot_aim_an_external_id_at_another_tenants_user(
    client, google, upstream, project, other_project, admin_user
):
    from accounts.services.invitations import InviteInput, invitation_create
    from audit.context import Actor

    victim = MembershipFactory(
        project=other_project, role="owner", user=UserFactory(email="victim@bigcorp.example")
    ).user
    invitation_create(
        project=project,
        actor=Actor(user=admin_user),
        data=InviteInput(email="victim@bigcorp.example", external_id="pwn", send_email=False),
    )
    google.match_by = MatchBy.SUBJECT
    google.save()
    response = _sign_in(client, upstream, google, sub="pwn", email="pwn@acme.example", email_verified=True)
    assert response.status_code == 403
    assert _signed_in_user(client) is None
    victim.refresh_from_db()
    assert victim.email == "victim@bigcorp.example"
    assert _refusals("subject_match_unsafe").count() == 1


def test_an_account_registered_without_proving_the_address_loses_its_password(
    client, google, upstream, project
):
    squatter = MembershipFactory(project=project, user=UserFactory(email="alice@acme.example")).user
    squatter.set_password("attacker pass 123")
    squatter.save()
    squatter.emailaddress_set.all().delete()  # never verified
    _sign_in(client, upstream, google, sub="g-alice", email="alice@acme.example", email_verified=True)
    assert _signed_in_user(client) == squatter  # the provider proved the address: it is Alice's
    squatter.refresh_from_db()
    assert not squatter.has_usable_password()
    from django.test import Client

    attacker = Client()
    attacker.post(reverse("account_login"), {"login": "alice@acme.example", "password": "attacker pass 123"})
    assert _signed_in_user(attacker) is None


def test_a_provider_never_moves_an_address_off_a_domain_it_does_not_own(client, google, upstream, project):
    google.match_by = MatchBy.SUBJECT
    google.save()
    member = MembershipFactory(project=project, user=UserFactory(email=None), external_id="g-9")
    _sign_in(client, upstream, google, sub="g-9", email="nine@acme.example", email_verified=True)
    member.user.refresh_from_db()
    assert member.user.email == "nine@acme.example"  # no address yet: the provider's, at its domain
    member.user.email = "nine@personal.example"
    member.user.save()
    client.logout()
    _sign_in(client, upstream, google, sub="g-9", email="other@acme.example", email_verified=True)
    member.user.refresh_from_db()
    assert member.user.email == "nine@personal.example"


def test_a_discovery_document_pointing_at_an_internal_address_is_refused(client, google, upstream, project):
    upstream.discovery["jwks_uri"] = "https://10.0.0.5/keys"
    response = client.post(
        reverse("oidc_login", kwargs={"provider_id": google.provider_id}) + "?process=login"
    )
    assert response.status_code == 400
    assert _refusals("discovery_unsafe_url").count() == 1
