from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from accounts.models import AccessPolicy, Membership, Project, Role, User

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createproject_with_password_creates_owner_who_can_sign_in():
    output = run(
        "createproject",
        "--name",
        "Acme Health",
        "--owner-email",
        "Boss@Acme.test",
        "--owner-password",
        "a-long-password-1",
    )
    project = Project.objects.get(slug="acme-health")
    owner = User.objects.get(email="boss@acme.test")
    assert Membership.objects.get(project=project, user=owner).role == Role.OWNER
    assert authenticate(email="boss@acme.test", password="a-long-password-1") == owner
    assert "a-long-password-1" not in output


def test_createproject_without_password_prints_a_set_password_link(client):
    output = run("createproject", "--name", "Beta", "--owner-email", "beta@example.test")
    link = output.split("Set-password link (works once, for 7 days): ")[1].split()[0]
    owner = User.objects.get(email="beta@example.test")
    assert not owner.has_usable_password()
    path = link.split("8000", 1)[1]
    response = client.post(
        path, {"new_password1": "a calm river at dawn", "new_password2": "a calm river at dawn"}
    )
    assert response.status_code == 303
    assert authenticate(email="beta@example.test", password="a calm river at dawn") == owner


def test_createproject_reuses_an_existing_user_without_touching_their_password(user_factory):
    user = user_factory(email="existing@example.test")
    old_hash = user.password
    output = run("createproject", "--name", "Gamma", "--owner-email", "EXISTING@example.test")
    user.refresh_from_db()
    assert user.password == old_hash and "Set-password link" not in output
    assert Membership.objects.get(user=user, project__name="Gamma").role == Role.OWNER


def test_createproject_duplicate_slug_is_a_clean_error_and_writes_nothing():
    run("createproject", "--name", "Delta", "--slug", "delta", "--owner-email", "d1@example.test")
    with pytest.raises(CommandError, match="taken"):
        run("createproject", "--name", "Delta again", "--slug", "delta", "--owner-email", "d2@example.test")
    assert not User.objects.filter(email="d2@example.test").exists()


def test_seed_demo_is_idempotent_and_prints_password_once():
    first = run("seed_demo")
    assert "Password:" in first
    counts = (
        Project.objects.count(),
        Membership.objects.count(),
        AccessPolicy.objects.count(),
        User.objects.count(),
    )
    second = run("seed_demo")
    assert "Password:" not in second
    assert counts == (
        Project.objects.count(),
        Membership.objects.count(),
        AccessPolicy.objects.count(),
        User.objects.count(),
    )
    password = first.split("Password: ")[1].split()[0]
    assert authenticate(email="owner@demo.test", password=password) is not None
    assert Membership.objects.filter(project__slug="demo").count() == 5


def test_seed_demo_has_one_name_everywhere(client):
    """#13 item 9: the demo was "Demo" in the portal and "Demo Health" on pages and in emails."""
    run("seed_demo")
    project = Project.objects.get(slug="demo")
    assert project.name == project.brand_name == "Demo Health"
    client.force_login(User.objects.get(email="owner@demo.test"))
    html = client.get(f"/portal/{project.slug}/users/").content.decode()
    assert "Demo Health" in html and ">Demo<" not in html and "· Demo ·" not in html
    # A demo seeded before keeps its data and gets the one name.
    Project.objects.filter(pk=project.pk).update(name="Demo", display_name="Demo Health")
    run("seed_demo")
    project.refresh_from_db()
    assert project.name == project.brand_name == "Demo Health" and project.display_name == ""


def test_seed_demo_reset_owner_password():
    run("seed_demo")
    output = run("seed_demo", "--reset-owner-password")
    password = output.rsplit(": ", 1)[1].strip()
    assert authenticate(email="owner@demo.test", password=password) is not None
