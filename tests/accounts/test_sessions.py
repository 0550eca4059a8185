"""Browser sessions as records: My account -> Sessions, the me/sessions API, signing a member out
of a project, signing a user out everywhere, and a new password ending the other sessions.

Tokens are obtained through the real endpoints (tests/oauth/conftest.py helpers against the
live server) and checked where a resource server would: introspection, userinfo, refresh."""

from __future__ import annotations

import pytest
import requests
from django.test import Client as BrowserClient
from django.urls import reverse

from accounts.services.sessions import session_sid, user_sign_out_everywhere
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from oauth.models import Consent
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from tests.oauth import conftest as oauth_fixtures
from tests.oauth.conftest import get_code, session_for

pytestmark = pytest.mark.django_db(transaction=True)

issuer = oauth_fixtures.issuer
oauth_project = oauth_fixtures.oauth_project
make_client = oauth_fixtures.make_client
web_client = oauth_fixtures.web_client
_close_oauth_sessions = oauth_fixtures._close_oauth_sessions


def _browser(
    email: str, password: str = DEFAULT_PASSWORD, user_agent: str = "pytest-browser"
) -> BrowserClient:
    browser = BrowserClient(HTTP_USER_AGENT=user_agent)
    response = browser.post(reverse("account_login"), {"login": email, "password": password})
    assert response.status_code == 302, response.content[:300]
    return browser


@pytest.fixture
def member(oauth_project):
    user = UserFactory(email="sam@clinic.test")
    user.emailaddress_set.update(verified=True)
    MembershipFactory(user=user, project=oauth_project)
    return user


def _tokens(browser, client, issuer) -> dict:
    code, params = get_code(browser, client)
    return session_for(client).fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=params["_verifier"]
    )


def _introspect(issuer, client, token) -> dict:
    return requests.post(
        f"{issuer}/o/introspect/",
        data={"token": token},
        auth=(client.client_id, client.plain_secret),
        timeout=10,
    ).json()


def _dead(issuer, client, tokens) -> bool:
    """Inactive at introspection, refused at userinfo, unable to refresh."""
    inactive = not _introspect(issuer, client, tokens["access_token"])["active"]
    userinfo = requests.get(
        f"{issuer}/o/userinfo/", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    refresh = requests.post(
        f"{issuer}/o/token/",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(client.client_id, client.plain_secret),
        timeout=10,
    )
    return inactive and userinfo.status_code == 401 and refresh.status_code == 400


def test_the_sessions_page_lists_each_browser_with_its_apps_and_ends_another(issuer, member, web_client):
    laptop = _browser(member.email, user_agent="Laptop Firefox")
    phone = _browser(member.email, user_agent="Phone Safari")
    _tokens(phone, web_client, issuer)
    page = laptop.get(reverse("sessions")).content.decode()
    assert "Laptop Firefox" in page and "Phone Safari" in page and "This browser" in page
    assert web_client.name in page  # the app that got tokens in the phone's session
    sessions = laptop.get("/api/v1/me/sessions/").json()
    phone_session = next(s for s in sessions if "Phone" in s["user_agent"])
    assert phone_session["clients"] == [web_client.name] and not phone_session["current"]

    response = laptop.post(reverse("sessions"), {"session": phone_session["id"]})
    assert response.status_code == 303
    assert phone.get(reverse("sessions")).status_code == 302  # signed out at its next request
    assert laptop.get(reverse("sessions")).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_ENDED, details__reason="ended").exists()


def test_the_me_sessions_api_ends_a_session_and_refuses_machines(issuer, member, make_client):
    laptop = _browser(member.email, user_agent="Laptop")
    phone = _browser(member.email, user_agent="Phone")
    listed = laptop.get("/api/v1/me/sessions/").json()
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    other = next(s for s in listed if not s["current"])
    assert laptop.delete(f"/api/v1/me/sessions/{other['id']}/").status_code == 204
    assert laptop.delete(f"/api/v1/me/sessions/{other['id']}/").status_code == 404
    assert phone.get("/api/v1/me/sessions/").status_code in (401, 403)
    robot = make_client(
        name="Robot",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["portal.read"],
        role="member",
    )
    token = requests.post(
        f"{issuer}/o/token/",
        data={"grant_type": "client_credentials", "scope": "portal.read"},
        auth=(robot.client_id, robot.plain_secret),
        timeout=10,
    ).json()["access_token"]
    answer = requests.get(
        f"{issuer}/api/v1/me/sessions/", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 403


def test_signed_out_everywhere_every_token_is_dead_at_once(issuer, member, web_client):
    tokens = [_tokens(_browser(member.email), web_client, issuer) for _ in range(2)]
    assert all(_introspect(issuer, web_client, t["access_token"])["active"] for t in tokens)
    user_sign_out_everywhere(user=member, actor=Actor.system(), reason="everywhere")
    assert all(_dead(issuer, web_client, t) for t in tokens)
    from allauth.usersessions.models import UserSession

    assert not UserSession.objects.filter(user=member).exists()


def test_a_project_admin_signs_a_member_out_of_the_project(
    issuer, oauth_project, member, web_client, admin_user_of
):
    browser = _browser(member.email)
    tokens = _tokens(browser, web_client, issuer)
    assert Consent.objects.filter(user=member, client=web_client).exists()
    admin = admin_user_of(oauth_project)
    membership = member.memberships.get(project=oauth_project)
    response = admin.post(f"/api/v1/projects/{oauth_project.pk}/memberships/{membership.pk}/sign-out/")
    assert response.status_code == 204
    assert _dead(issuer, web_client, tokens)
    assert not Consent.objects.filter(user=member, client=web_client).exists()
    membership.refresh_from_db()
    assert membership.is_active  # they may sign in again
    event = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_SIGNED_OUT)
    assert event.actor_label != "system"


def test_a_password_change_ends_the_other_sessions_and_revokes_tokens(issuer, member, web_client):
    here = _browser(member.email, user_agent="Here")
    elsewhere = _browser(member.email, user_agent="Elsewhere")
    tokens = _tokens(elsewhere, web_client, issuer)
    response = here.post(
        reverse("account_change_password"),
        {
            "oldpassword": DEFAULT_PASSWORD,
            "password1": "a brand new secret 42",
            "password2": "a brand new secret 42",
        },
    )
    assert response.status_code == 302, response.content[:400]
    assert here.get(reverse("sessions")).status_code == 200  # this browser stays signed in
    assert elsewhere.get(reverse("sessions")).status_code == 302
    assert _dead(issuer, web_client, tokens)


def test_the_sid_of_id_tokens_is_the_sessions(issuer, member, web_client):
    from allauth.usersessions.models import UserSession

    browser = _browser(member.email)
    tokens = _tokens(browser, web_client, issuer)
    from tests.oauth.conftest import verify_id_token

    claims = verify_id_token(tokens["id_token"], issuer=issuer, client_id=web_client.client_id, nonce=None)
    record = UserSession.objects.get(user=member)
    assert claims["sid"] == session_sid(record)


@pytest.fixture
def admin_user_of():
    def make(project):
        from rest_framework.test import APIClient

        admin = MembershipFactory(project=project, role="admin").user
        api = APIClient()
        api.force_authenticate(admin)
        return api

    return make


def test_an_operator_deactivating_a_user_signs_them_out_everywhere(issuer, member, web_client):
    from django.contrib.auth import get_user_model

    tokens = _tokens(_browser(member.email), web_client, issuer)
    operator = get_user_model().objects.create_superuser(email="ops@example.test", password="operator pass 1")
    admin = BrowserClient()
    admin.force_login(operator)
    url = reverse("admin:accounts_user_change", args=[member.pk])
    form = {"email": member.email, "first_name": "", "last_name": "", "is_active": "", "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}  # fmt: skip
    response = admin.post(url, form)
    assert response.status_code in (200, 302)
    member.refresh_from_db()
    assert not member.is_active
    assert _dead(issuer, web_client, tokens)
    assert AuditEvent.objects.filter(
        action=AuditAction.USER_SIGNED_OUT_EVERYWHERE, details__reason="deactivated"
    ).exists()


def test_a_projects_idle_limit_signs_the_browser_out_and_revokes_its_tokens(
    issuer, oauth_project, member, web_client, clock
):
    from datetime import timedelta

    oauth_project.session_idle_minutes = 30
    oauth_project.save()
    browser = _browser(member.email)
    tokens = _tokens(browser, web_client, issuer)
    clock.advance(timedelta(minutes=20))
    assert browser.get(reverse("sessions")).status_code == 200  # active: the idle timer restarts
    clock.advance(timedelta(minutes=31))
    assert browser.get(reverse("sessions")).status_code == 302  # idle too long: signed out
    assert _dead(issuer, web_client, tokens)


def test_a_projects_absolute_limit_ends_even_an_active_session(issuer, oauth_project, member, clock):
    from datetime import timedelta

    oauth_project.session_max_hours = 1
    oauth_project.save()
    browser = _browser(member.email)
    for _ in range(3):
        clock.advance(timedelta(minutes=25))
        browser.get(reverse("sessions"))
    assert browser.get(reverse("sessions")).status_code == 302


def test_the_members_page_lists_their_sessions(issuer, oauth_project, member, admin_user_of):
    _browser(member.email, user_agent="Visible Browser 1.0")
    from django.test import Client as PageClient

    admin = MembershipFactory(project=oauth_project, role="admin").user
    page_client = PageClient()
    page_client.force_login(admin)
    membership = member.memberships.get(project=oauth_project)
    page = page_client.get(
        reverse(
            "portal:membership", kwargs={"project_slug": oauth_project.slug, "membership_id": membership.pk}
        )
    ).content.decode()
    assert "Visible Browser 1.0" in page and "Sign out of this project" in page
