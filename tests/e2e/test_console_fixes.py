"""#13 "Found, to fix": what an administrator sees and clicks, in Chromium (1366 px and 390 px)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from accounts.services.invitations import InviteInput, invitation_create, invitation_resend, invitation_revoke
from audit.context import Actor
from notifications.models import MessageKind, OutboundMessage
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def clinic(transactional_db, live_server, settings):
    settings.APP_BASE_URL = live_server.url
    project = ProjectFactory(name="Clinic East", slug="clinic-east")
    owner = MembershipFactory(project=project, role=Role.OWNER, user=UserFactory(email="owner@east.test"))
    return {"project": project, "owner": owner.user}


def test_a_revoked_invitations_message_offers_no_send_again(page, sign_in, clinic):
    # invite -> Resend -> Revoke -> open the first message: its link is dead, so is "Send again".
    actor = Actor(user=clinic["owner"])
    result = invitation_create(
        project=clinic["project"], actor=actor, data=InviteInput(email="late@east.test")
    )
    invitation_resend(invitation=result.invitation, actor=actor)
    invitation_revoke(invitation=result.invitation, actor=actor)
    first = OutboundMessage.objects.filter(kind=MessageKind.WELCOME_SET_PASSWORD).earliest("created_at")

    sign_in("owner@east.test")
    page.get_by_role("link", name="Outbox").click()
    page.get_by_role("row").filter(has_text="late@east.test").filter(
        has_text="Welcome / set password"
    ).last.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/outbox/{first.pk}/$"))
    expect(page.get_by_text("The invitation was revoked")).to_be_visible()
    expect(page.get_by_role("button", name="Send again")).to_have_count(0)
