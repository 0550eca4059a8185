"""#13 items 7 and 9: pages a person meets outside the happy path (with DEBUG on, as `make run`)."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

DEBUG_404 = ("Using the URLconf", "Page not found <span>", "technical_404")


def assert_our_404_page(response) -> None:
    html = response.content.decode()
    assert response.status_code == 404
    assert "404 – Not found" in html and "Back to your projects" in html
    assert not any(marker in html for marker in DEBUG_404), html[:300]


@pytest.fixture
def debug(settings):
    settings.DEBUG = True  # as `make run`: Django would show its debug 404 page


def test_a_deactivated_member_gets_the_products_404_page(client, project, debug):
    membership = MembershipFactory(project=project, role="admin", is_active=False)
    client.force_login(membership.user)
    assert_our_404_page(client.get(reverse("portal:users", kwargs={"project_slug": project.slug})))


@pytest.mark.parametrize("query", ["", "?project=", "?project=no-such-project", "?project=theirs"])
def test_the_project_switcher_without_a_project_of_yours_gets_the_404_page(
    client, project, other_project, debug, query
):
    other_project.slug = "theirs"
    other_project.save()
    client.force_login(MembershipFactory(project=project, role="owner").user)
    assert_our_404_page(client.get(reverse("portal:switch") + query))


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v1/projects/x/y/z/", "/api/nope"])
@pytest.mark.parametrize("debug_on", [True, False])
def test_unknown_api_paths_answer_the_json_envelope(client, admin_user, settings, path, debug_on):
    settings.DEBUG = debug_on
    client.force_login(admin_user)
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.ico"
    path = finders.find("favicon.ico")
    assert path and open(path, "rb").read(4) == b"\x00\x00\x01\x00"  # an ICO file
    assert finders.find("favicon.svg")
    page = client.get(reverse("account_login")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page


def test_forgot_your_password_appears_once_on_the_sign_in_page(client):
    user = UserFactory(email="once@example.test")
    page = client.post(reverse("account_login"), {"login": user.email}).content.decode()
    assert 'name="password"' in page  # the password step
    assert page.count("Forgot your password?") == 1


def test_forgot_your_password_appears_once_on_the_change_password_page(client):
    client.force_login(UserFactory(email="change@example.test"))
    page = client.get(reverse("account_change_password")).content.decode()
    assert page.count("Forgot your password?") == 1
