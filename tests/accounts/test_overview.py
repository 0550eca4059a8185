"""A project's overview (#13 item 13, `portal:project`): members by role and status (invited = not
accepted yet), pending invitations, failed sign-ins of the last 24 hours (the project's audit
log), outbox problems, clients; each with a link to the page that lists them. A fixed number of
queries whatever the project's size; nothing of another project counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from audit.models import AuditAction, AuditEvent, AuditOutcome
from identity.clock import clock
from notifications.models import OutboundMessage
from tests.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def overview(project) -> str:
    return reverse("portal:project", kwargs={"project_slug": project.slug})


def _client(project, name: str, active: bool = True):
    from oauth.services import ClientInput, client_create, client_set_active

    client = client_create(
        project=project, actor=Actor.system(), data=ClientInput(name=name, grant_types=["client_credentials"])
    ).client
    if not active:
        client_set_active(client=client, actor=Actor.system(), active=False)
    return client


def _message(project, status: str) -> OutboundMessage:
    import uuid

    return OutboundMessage.objects.create(
        project=project,
        kind="welcome_set_password",
        to_email="x@example.test",
        subject="Hello",
        status=status,
        idempotency_key=f"overview:{uuid.uuid4()}",
    )


def _failed_sign_in(project, login: str, ago: timedelta) -> AuditEvent:
    event = AuditEvent.objects.create(
        project=project,
        action=AuditAction.USER_SIGN_IN_FAILED,
        outcome=AuditOutcome.FAILURE,
        target_label=login,
        ip_address="198.51.100.9",
    )
    AuditEvent.objects.filter(pk=event.pk).update(created_at=clock.now() - ago)
    return event


def _fill(project, *, scale: int) -> None:
    """`scale` of everything the overview counts, in `project`."""
    owner = MembershipFactory(project=project, role="owner").user
    actor = Actor(user=owner, ip_address="203.0.113.7", user_agent="pytest")
    for n in range(scale):
        MembershipFactory(project=project, role="member")
        MembershipFactory(project=project, role="admin", is_active=False)
        invitation_create(project=project, actor=actor, data=InviteInput(email=f"new{n}@{project.slug}.test"))
        _client(project, f"App {n}", active=n % 2 == 0)
        _message(project, "dead")
        _message(project, "failed")
        _failed_sign_in(project, f"who{n}@example.test", timedelta(hours=1))
    return owner


def numbers(html: str) -> dict[str, str]:
    """The links of the page as {link text: href}."""
    return {
        re.sub(r"\s+", " ", text).strip(): href
        for href, text in re.findall(r'<a href="([^"]+)">(.*?)</a>', html, re.S)
    }


def test_the_overview_counts_what_needs_attention(client, project, other_project, mailoutbox):
    owner = _fill(project, scale=3)
    _fill(other_project, scale=2)  # never counted here
    _failed_sign_in(project, "old@example.test", timedelta(hours=25))  # outside the window
    _message(project, "sent")
    client.force_login(owner)

    response = client.get(overview(project))
    html = response.content.decode()
    assert response.status_code == 200
    roles = response.context["roles"]
    by_role = {row["label"]: row["counts"] for row in roles}
    assert by_role["Owner"] == {"active": 1, "invited": 0, "deactivated": 0, "total": 1}
    assert by_role["Admin"] == {"active": 0, "invited": 0, "deactivated": 3, "total": 3}
    assert by_role["Member"] == {
        "active": 3,
        "invited": 3,
        "deactivated": 0,
        "total": 6,
    }  # invited: not accepted
    assert response.context["pending_invitations"] == 3
    assert response.context["failures_count"] == 3
    assert "old@example.test" not in html and "who0@example.test" in html
    assert response.context["outbox_problems"] == 6
    clients = next(panel for panel in response.context["panels"] if panel.key == "clients")
    assert [(item.label, item.value) for item in clients.items] == [("Active", 2), ("Disabled", 1)]

    links = numbers(html)
    slug = project.slug
    assert links["See the 3 pending invitations"] == f"/portal/{slug}/invitations/?status=pending"
    assert links["Dead (gave up): 3"] == f"/portal/{slug}/outbox/?status=dead"
    assert links["Failed (will retry): 3"] == f"/portal/{slug}/outbox/?status=failed"
    assert links["Active: 2"] == f"/portal/{slug}/clients/?status=active"
    assert links["All 3 client(s)"] == f"/portal/{slug}/clients/"
    assert f"/portal/{slug}/users/?role=member&amp;status=invited" in html
    audit = links["See them in the audit log"].replace("&amp;", "&")
    assert audit.startswith(f"/portal/{slug}/audit/?action=user.sign_in_failed&since=")

    # the links land on pages that show the same things
    assert client.get(audit).context["page"].paginator.count == 3
    invited = client.get(f"/portal/{slug}/users/?role=member&status=invited").context["page"]
    assert invited.paginator.count == 3


def test_the_overview_is_the_projects_home_and_in_the_navigation(admin_client, project):
    html = admin_client.get(overview(project)).content.decode()
    assert f'<a href="{overview(project)}" aria-current="page">Overview</a>' in html


def test_the_overview_takes_a_fixed_number_of_queries(client, project, django_assert_max_num_queries):
    """The same queries for a project with one of everything and one with twelve times as much."""
    owner = _fill(project, scale=1)
    client.force_login(owner)
    client.get(overview(project))  # warm-up: session, content types
    with django_assert_max_num_queries(QUERY_BUDGET) as small:
        assert client.get(overview(project)).status_code == 200
    small_count = len(small.captured_queries)  # read now: the next request clears Django's query log
    big = ProjectFactory()
    big_owner = _fill(big, scale=12)
    client.force_login(big_owner)
    client.get(overview(big))
    with django_assert_max_num_queries(small_count):
        assert client.get(overview(big)).status_code == 200


# The page's own queries (members, invitations, failed sign-ins ×2, outbox, clients) plus the
# portal's (session, user, project gate, switcher, …).
QUERY_BUDGET = 20


def test_members_and_other_projects_get_no_overview(member_client, admin_client, project, other_project):
    assert member_client.get(overview(project)).status_code == 403
    assert admin_client.get(overview(other_project)).status_code == 404
