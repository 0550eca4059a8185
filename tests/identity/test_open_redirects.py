"""Open redirects (hostile review, #12 item 6): no `next`, switcher or OAuth parameter sends a
browser to another site. Every place that redirects to a target the request names is tried with
the forms browsers read as another host. OAuth's unregistered `redirect_uri` (an error page, never
a redirect) is also tested in tests/oauth/test_code_flow.py, `post_logout_redirect_uri` in
tests/oauth/test_rp_logout.py; here with the same hostile targets.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.views_mfa import ENROLMENT_NEXT_KEY
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

EVIL = [
    "https://evil.test/",
    "//evil.test/",
    "/\\evil.test/",
    "\\\\evil.test/",
    "https:evil.test",
    "http:/evil.test",
    "/%2F/evil.test",
    " //evil.test",
    "\t//evil.test",
    "javascript:alert(1)",
    "https://testserver@evil.test/",
]


def stays_here(response) -> bool:
    """The answer is not a redirect to another site (a relative path on this host, or no redirect)."""
    location = response.get("Location")
    if location is None:
        return True
    normalised = location.strip().replace("\\", "/")
    parts = urlsplit(normalised)
    return (
        not parts.scheme
        and not parts.netloc
        and normalised.startswith("/")
        and not normalised.startswith("//")
    )


@pytest.fixture
def person(db):
    user = UserFactory()
    MembershipFactory(user=user, project=ProjectFactory(), role="owner")
    return user


@pytest.mark.parametrize("target", EVIL)
def test_sign_in_next(person, target):
    browser = Client()
    response = browser.post(
        reverse("account_login") + "?" + urlencode({"next": target}),
        {"login": person.email, "password": DEFAULT_PASSWORD, "next": target},
    )
    assert response.status_code in (302, 303), response.content[:300]
    assert stays_here(response), response["Location"]


@pytest.mark.parametrize("target", EVIL)
def test_sign_out_next(person, target):
    browser = Client()
    browser.force_login(person)
    response = browser.post(reverse("account_logout"), {"next": target})
    assert stays_here(response), response.get("Location")


@pytest.mark.parametrize("target", EVIL)
def test_reauthenticate_next(person, target):
    browser = Client()
    browser.force_login(person)
    response = browser.post(
        reverse("account_reauthenticate") + "?" + urlencode({"next": target}),
        {"password": DEFAULT_PASSWORD, "next": target},
    )
    assert stays_here(response), response.get("Location")


@pytest.mark.parametrize("target", EVIL)
def test_change_and_set_password_next(person, target):
    browser = Client()
    browser.force_login(person)
    new = "a-much-longer-new-passphrase-42"
    for name, data in (
        ("account_change_password", {"oldpassword": DEFAULT_PASSWORD, "password1": new, "password2": new}),
        ("account_set_password", {"password1": new, "password2": new}),
    ):
        response = browser.post(reverse(name) + "?" + urlencode({"next": target}), {**data, "next": target})
        assert stays_here(response), (name, response.get("Location"))


@pytest.mark.parametrize("target", EVIL)
def test_set_password_link_next(sent_links, project, django_capture_on_commit_callbacks, target):
    from accounts.services.invitations import InviteInput, invitation_create
    from audit.context import Actor

    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            project=project, actor=Actor.system(), data=InviteInput(email="joiner@example.test")
        )
    path = urlsplit(sent_links()[-1]).path
    new = "a-much-longer-new-passphrase-42"
    response = Client().post(
        path + "?" + urlencode({"next": target}), {"password1": new, "password2": new, "next": target}
    )
    assert stays_here(response), response.get("Location")


@pytest.mark.parametrize("target", EVIL)
def test_mfa_enrolment_continue(person, target):
    browser = Client()
    browser.force_login(person)
    page = browser.get(reverse("mfa_enrolment_required") + "?" + urlencode({"next": target}))
    assert page.status_code == 200
    assert stays_here(browser.get(reverse("mfa_enrolment_continue")))


@pytest.mark.parametrize("target", EVIL)
def test_mfa_enrolment_continue_with_a_hostile_session_value(person, target):
    """Even a target that reached the session some other way is not followed."""
    browser = Client()
    browser.force_login(person)
    session = browser.session
    session[ENROLMENT_NEXT_KEY] = target
    session.save()
    assert stays_here(browser.get(reverse("mfa_enrolment_continue")))


@pytest.mark.parametrize("target", EVIL)
def test_project_switcher(admin_client, project, target):
    for query in ({"project": target}, {"project": project.slug, "section": target}, {"next": target}):
        response = admin_client.get(reverse("portal:switch") + "?" + urlencode(query))
        assert response.status_code in (302, 404), (query, response.status_code)
        assert stays_here(response), (query, response.get("Location"))


@pytest.mark.parametrize("target", EVIL)
def test_oauth_authorize_with_an_unregistered_redirect_uri_never_redirects(admin_client, project, target):
    from audit.context import Actor
    from oauth.services import ClientInput, client_create

    client = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="App", grant_types=["authorization_code"], redirect_uris=["https://app.test/cb"]
        ),
    ).client
    for client_id in (client.client_id, "no-such-client"):
        query = {"response_type": "code", "client_id": client_id, "redirect_uri": target, "scope": "openid"}
        response = admin_client.get("/o/authorize/?" + urlencode(query))
        assert response.status_code == 400 and stays_here(response), (client_id, response.get("Location"))


@pytest.mark.parametrize("target", EVIL)
def test_rp_logout_post_logout_redirect_uri(person, target):
    browser = Client()
    browser.force_login(person)
    response = browser.get("/o/logout/?" + urlencode({"post_logout_redirect_uri": target, "state": "s"}))
    assert stays_here(response), response.get("Location")
    response = browser.post("/o/logout/", {"post_logout_redirect_uri": target, "logout": "1"})
    assert stays_here(response), response.get("Location")
