"""Project settings as owners and admins use them (issue #13 item 10): branding (colour in the
sign-in page and emails), the sign-in policy (owners only: MFA required, default role, …), the
default role of people who join by themselves, operators creating projects in the portal, and a
project switcher that remembers the last project and keeps the section."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership, Project
from accounts.services.invitations import InviteInput, invitation_create
from accounts.services.memberships import membership_create
from audit.context import Actor
from audit.models import AuditEvent
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_an_owner_sets_branding_and_the_sign_in_policy(project, owner):
    api = api_for(owner)
    url = f"/api/v1/projects/{project.pk}/settings/"
    response = api.patch(
        url, {"brand_color": "#0B7A75", "mfa_required": True, "default_role": "admin"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["brand_color"] == "#0B7A75" and response.json()["mfa_required"] is True
    project.refresh_from_db()
    assert (project.brand_color, project.mfa_required, project.default_role) == ("#0B7A75", True, "admin")
    changes = (
        AuditEvent.objects.filter(action="project.updated", project=project).latest("created_at").details
    )
    assert changes["changes"]["mfa_required"] == [False, True]
    bad = api.patch(url, {"brand_color": "red", "default_role": "owner"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"brand_color", "default_role"}


def test_admins_change_branding_but_not_the_sign_in_policy(project, admin_user):
    api = api_for(admin_user)
    url = f"/api/v1/projects/{project.pk}/settings/"
    refused = api.patch(url, {"mfa_required": True, "display_name": "Renamed"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert "mfa_required" in refused.json()["error"]["fields"]
    project.refresh_from_db()
    assert not project.mfa_required and project.display_name != "Renamed"  # nothing half-written
    assert (
        api.patch(url, {"display_name": "Renamed", "brand_color": "#222222"}, format="json").status_code
        == 200
    )
    # the page shows the policy to admins without offering it
    browser = Client()
    browser.force_login(admin_user)
    page_url = reverse("portal:project_settings", kwargs={"project_slug": project.slug})
    page = browser.get(page_url).content.decode()
    assert "Only an owner can change this." in page
    assert re.search(r'<input[^>]*name="mfa_required"[^>]*disabled', page)
    posted = browser.post(
        page_url,
        {
            "name": project.name,
            "display_name": "Again",
            "mfa_required": "on",
            "allowed_sign_in_methods": ["password"],
        },
    )
    assert posted.status_code == 303
    project.refresh_from_db()
    assert project.display_name == "Again" and not project.mfa_required  # the disabled field is ignored


def test_emails_and_the_sign_in_page_carry_the_brand(
    project, owner, mailoutbox, django_capture_on_commit_callbacks
):
    project.brand_color, project.display_name = "#f4c430", "Saffron Health"  # light: black text on it
    project.save()
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            project=project, actor=Actor(user=owner), data=InviteInput(email="new@saffron.test")
        )
    html = mail.outbox[-1].alternatives[0][0]
    assert "#f4c430" in html and "color:#000000" in html
    page = Client().get(f"/accounts/login/?project={project.slug}").content.decode()
    assert "Saffron Health" in page
    sheet_url = reverse("brand_stylesheet", args=[project.slug])
    assert sheet_url in page
    sheet = Client().get(sheet_url)
    assert sheet["Content-Type"].startswith("text/css") and "#f4c430" in sheet.content.decode()
    unknown = Client().get(reverse("brand_stylesheet", args=["no-such-project"]))
    assert unknown.status_code == 200 and unknown.content == b""


def test_people_who_join_by_themselves_get_the_default_role(project):
    project.default_role = "admin"
    project.save()
    joined = membership_create(project=project, user=UserFactory(), actor=Actor.system())
    assert joined.role == "admin"
    chosen = membership_create(project=project, user=UserFactory(), actor=Actor.system(), role="member")
    assert chosen.role == "member"


def test_operators_create_projects_in_the_portal(project, owner):
    operator = UserFactory(is_superuser=True, is_staff=True)
    browser = Client()
    browser.force_login(operator)
    url = reverse("portal:project_create")
    assert browser.get(url).status_code == 200
    refused = browser.post(url, {"name": "Clash", "slug": "switch"})
    assert refused.status_code == 400 and "Reserved" in refused.content.decode()
    created = browser.post(url, {"name": "Lakeside Clinic", "slug": ""})
    new = Project.objects.get(name="Lakeside Clinic")
    assert created.status_code == 302 and created["Location"] == reverse("portal:project", args=[new.slug])
    assert Membership.objects.get(project=new).user == operator and new.slug == "lakeside-clinic"
    assert AuditEvent.objects.filter(action="project.created", project=new, actor_user=operator).exists()
    ordinary = Client()
    ordinary.force_login(owner)
    assert ordinary.get(url).status_code == 404
    assert ordinary.post(url, {"name": "Mine"}).status_code == 404
    assert not Project.objects.filter(name="Mine").exists()


def test_the_switcher_keeps_the_section_and_the_portal_reopens_the_last_project(project, owner):
    second = ProjectFactory(name="Second")
    MembershipFactory(project=second, user=owner, role="owner")
    browser = Client()
    browser.force_login(owner)
    switched = browser.get(reverse("portal:switch"), {"project": second.slug, "section": "clients"})
    assert switched["Location"] == reverse("portal:clients", args=[second.slug])
    home = browser.get(reverse("portal:switch"), {"project": second.slug, "section": "nonsense"})
    assert home["Location"] == reverse("portal:project", args=[second.slug])
    browser.get(reverse("portal:users", args=[second.slug]))
    assert browser.get(reverse("portal:home"))["Location"] == reverse("portal:project", args=[second.slug])
    browser.get(reverse("portal:users", args=[project.slug]))
    assert browser.get(reverse("portal:home"))["Location"] == reverse("portal:project", args=[project.slug])
