"""#13 item 8: the audit page shows details as readable changes, with names instead of ids."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.services import access_policy_create, membership_update, project_update
from audit.context import Actor
from audit.presentation import audit_details_lines
from tests.factories import AccessPolicyFactory

pytestmark = pytest.mark.django_db


def test_changes_read_as_before_and_after():
    lines = audit_details_lines(
        {
            "changes": {
                "display_name": ["", "Lab"],
                "allow_self_signup": [False, True],
                "allowed_sign_in_methods": [["password"], ["password", "google"]],
                "session_idle_minutes": [None, 30],
            },
            "reason": "logout",
        }
    )
    assert lines == [
        "display_name: '' → 'Lab'",
        "allow_self_signup: no → yes",
        "allowed_sign_in_methods: ['password'] → ['password', 'google']",
        "session_idle_minutes: none → 30",
        "reason: logout",
    ]


def test_the_page_names_policies_instead_of_showing_their_ids(admin_client, project, owner, other_project):
    actor = Actor(user=owner)
    policy = access_policy_create(
        project=project,
        name="Clinician",
        actor=actor,
        rules=[{"resource_type": "Patient", "interactions": "r"}],
    )
    project_update(project=project, actor=actor, display_name="Lab", default_access_policy=policy)
    # An id of another project's policy in a detail is never named on this project's page.
    foreign = AccessPolicyFactory(project=other_project, name="Their secret policy")
    member = project.memberships.exclude(user=owner).first()
    membership_update(membership=member, actor=actor, access_policy=policy)
    from audit.models import AuditEvent

    AuditEvent.objects.filter(action="membership.updated").update(
        details={"changes": {"access_policy": [str(foreign.pk), str(policy.pk)]}}
    )
    response = admin_client.get(reverse("portal:audit", kwargs={"project_slug": project.slug}))
    assert response.status_code == 200
    lines = {line for event in response.context["page"].object_list for line in event.details_lines}
    assert "display_name: '' → 'Lab'" in lines
    assert "default_access_policy: none → 'Clinician'" in lines
    assert "access_policy: 'a record since deleted' → 'Clinician'" in lines
    html = response.content.decode()
    assert str(policy.pk) not in html and str(foreign.pk) not in html and "Their secret policy" not in html
    assert "{&#x27;" not in html  # no raw dict
