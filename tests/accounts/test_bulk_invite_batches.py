"""Bulk invite writes a chunk's new people a table at a time (invitations_create_many): each row's
outcome, and every row written (users, addresses, memberships, links, outbox emails, audit events,
webhook deliveries), must be what `invitation_create` one row at a time gives."""

from __future__ import annotations

import json

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import BulkInvite, Membership, Role, SecurityRequest, User
from accounts.services import bulk_invites
from accounts.services.bulk_invites import bulk_invite_process, bulk_invite_start
from accounts.services.invitations import _invite_one
from audit.context import Actor
from audit.models import AuditEvent
from notifications.models import MessageStatus, OutboundMessage
from tests.factories import AccessPolicyFactory, MembershipFactory, ProjectFactory, UserFactory
from tests.support.services import broker_unreachable
from webhooks import subscriptions
from webhooks.models import EventDelivery

pytestmark = pytest.mark.django_db(transaction=True)


def one_at_a_time(*, project, actor, invites):
    """What bulk invite did before batches: `invitation_create` per row, each in a savepoint."""
    return [_invite_one(project, actor, data) for data in invites]


@pytest.fixture(autouse=True)
def _hooks_to_a_local_port(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the subscriptions below point at a closed local port


@pytest.fixture
def people():
    """Someone with an account in another project only, and the inviting admin."""
    elsewhere = MembershipFactory(project=ProjectFactory(), user=UserFactory(email="known@example.test"))
    return {"known": elsewhere.user, "admin": UserFactory(email="admin@example.test")}


def a_project(tag: str, people) -> tuple:
    project = ProjectFactory(name=f"Project {tag}", slug=f"project-{tag}")
    MembershipFactory(project=project, role=Role.OWNER)
    MembershipFactory(project=project, user=people["admin"], role=Role.ADMIN)
    member = MembershipFactory(project=project, user=UserFactory(email=f"{tag}-member@example.test"))
    policy = AccessPolicyFactory(project=project, name="Readers")
    policy.rules.create(resource_type="Patient", interactions="rs", criteria="Patient?organization=%org")
    subscriptions.subscription_create(
        project=project,
        actor=Actor.system(),
        url="http://127.0.0.1:9/hook",
        events=["user.invited", "membership.created"],
    )
    return project, member


def rows_of(tag: str) -> list[dict]:
    """New people, an account from another project, a member, invalid rows, duplicates in the file,
    an external ID used twice, an owner invited by an admin, and a person without an address."""
    return [
        {"email": f"{tag}-ada@example.test", "access_policy": "Readers", "parameters": "org=Organization/1"},
        {"email": "Known@Example.test", "first_name": "Known"},  # an account elsewhere: added
        {"email": f"{tag}-member@example.test"},  # already a member
        {"email": "not-an-email"},  # invalid: never processed
        {"email": f"{tag}-eve@example.test", "profile": "Banana/1"},  # fails the membership's rules
        {"email": f"{tag}-kim@example.test", "external_id": f"{tag}-ext-1", "first_name": "Kim"},
        {"email": f"{tag}-lee@example.test", "external_id": f"{tag}-ext-1"},  # Kim's external ID
        {"email": f"{tag.upper()}-ADA@example.test"},  # Ada again: a duplicate in the file
        {"email": f"{tag}-boss@example.test", "role": "owner"},  # an admin cannot make an owner
        {"external_id": f"{tag}-ext-2", "first_name": "Nomail"},  # no address: invited, nothing sent
        {"email": f"{tag}-zed@example.test", "last_name": "Zed"},
        {"email": f"{tag}-yan@example.test", "access_policy": "Readers"},  # the policy needs %org
        {"email": f"{tag}-amy@example.test"},
    ]


def run(project, people, rows, *, send_email=True) -> BulkInvite:
    with broker_unreachable():  # nothing is handed over until the comparison is done
        job, created = bulk_invite_start(
            project=project, actor=Actor(user=people["admin"]), rows=rows, send_email=send_email
        )
        assert created
        return bulk_invite_process(job_id=job.pk)


def written(project, tag: str, admin) -> dict:
    """Everything the job wrote for the project, with the project's own names made neutral."""

    def neutral(value) -> str:
        text = json.dumps(value, sort_keys=True, default=str)
        return text.replace(str(project.pk), "P").replace(project.name, "P").replace(f"{tag}-", "T-")

    invited = Membership.objects.filter(project=project, invited_by=admin)  # the job's, not the fixtures'
    users = User.objects.filter(memberships__in=invited)
    return {
        "memberships": sorted(
            neutral([m.user.email, m.role, m.external_id, m.access_parameters, m.profile, m.is_active])
            for m in invited.select_related("user")
        ),
        "users": sorted(
            neutral([u.email, u.first_name, u.last_name, u.has_usable_password()]) for u in users
        ),
        "addresses": sorted(
            neutral([a.email, a.primary, a.verified]) for a in EmailAddress.objects.filter(user__in=users)
        ),
        "links": sorted(
            neutral(
                [
                    r.user.email,
                    r.kind,
                    r.email,
                    bool(r.secret_hash),
                    r.send_count,
                    bool(r.last_sent_at),
                    bool(r.used_at),
                    r.invited_by_id == admin.pk,
                ]
            )
            for r in SecurityRequest.objects.filter(project=project).select_related("user")
        ),
        "emails": sorted(
            neutral([m.kind, m.to_email, m.subject, m.status, m.idempotency_key.split(":")[0]])
            for m in OutboundMessage.objects.filter(project=project)
        ),
        # In order: each person's membership.created, then their invitation.created.
        "audit": [
            neutral(
                [e.action, e.outcome, e.actor_user_id == admin.pk, e.target_type, e.target_label, e.details]
            )
            for e in AuditEvent.objects.filter(
                project=project, action__in=["membership.created", "invitation.created"]
            ).order_by("created_at")
        ],
        "webhook_deliveries": sorted(
            neutral(
                [
                    d.event_type,
                    d.status,
                    json.loads(d.payload)["data"]["action"],
                    json.loads(d.payload)["data"]["details"],
                ]
            )
            for d in EventDelivery.objects.filter(subscription__project=project)
        ),
    }


def report(job: BulkInvite, tag: str) -> list:
    text = json.dumps([job.invalid_rows, job.results, job.total, job.processed, job.status], sort_keys=True)
    return json.loads(text.replace(f"{tag}-", "T-").replace(f"{tag.upper()}-", "T-"))


@pytest.mark.parametrize("send_email", [True, False])
def test_a_batch_reports_and_writes_what_one_at_a_time_does(people, settings, monkeypatch, send_email):
    settings.BULK_INVITE_CHUNK_SIZE = 4  # new people, existing ones and failures share chunks
    batch_project, _ = a_project("a", people)
    single_project, _ = a_project("b", people)

    batched = run(batch_project, people, rows_of("a"), send_email=send_email)
    with monkeypatch.context() as patch:
        patch.setattr(bulk_invites, "invitations_create_many", one_at_a_time)
        single = run(single_project, people, rows_of("b"), send_email=send_email)

    assert report(batched, "a") == report(single, "b")
    outcomes = [(r["email"].replace("a-", "T-"), r["outcome"]) for r in batched.results]
    assert outcomes == [
        ("T-ada@example.test", "invited"),
        ("known@example.test", "added"),
        ("T-member@example.test", "exists"),
        ("T-eve@example.test", "error"),
        ("T-kim@example.test", "invited"),
        ("T-lee@example.test", "exists"),  # Kim's external ID: Kim, already a member by now
        ("T-boss@example.test", "error"),
        ("", "invited"),
        ("T-zed@example.test", "invited"),
        ("T-yan@example.test", "error"),
        ("T-amy@example.test", "invited"),
    ]
    assert {r["row"] for r in batched.invalid_rows} == {4, 8}
    assert written(batch_project, "a", people["admin"]) == written(single_project, "b", people["admin"])


def test_every_invitation_email_is_delivered_once(people, settings, mailoutbox):
    from notifications.services import outbox_relay

    settings.BULK_INVITE_CHUNK_SIZE = 4
    project, _ = a_project("a", people)
    run(project, people, rows_of("a"))
    queued = OutboundMessage.objects.filter(project=project)
    assert queued.count() == 5  # ada, known (added), kim, zed, amy; the member and failures get none
    outbox_relay()
    outbox_relay()  # a second pass finds nothing left to send
    recipients = sorted(address for email in mailoutbox for address in email.to)
    assert recipients == sorted(queued.values_list("to_email", flat=True))
    assert len(recipients) == len(set(recipients))
    assert not queued.exclude(status=MessageStatus.SENT).exists()


def test_a_failure_mid_chunk_leaves_nothing_of_that_chunk_and_a_rerun_finishes(
    people, settings, monkeypatch, mailoutbox
):
    from notifications import services as outbox
    from notifications.services import outbox_relay

    settings.BULK_INVITE_CHUNK_SIZE = 3
    project, _ = a_project("a", people)
    rows = [{"email": f"p{n}@example.test", "first_name": f"P{n}"} for n in range(1, 6)]
    render = outbox.render_email

    def fails_for_p5(*, kind, project, context):
        if context.get("first_name") == "P5":  # the second row of the second chunk
            raise RuntimeError("the template engine fails")
        return render(kind=kind, project=project, context=context)

    monkeypatch.setattr(outbox, "render_email", fails_for_p5)
    with broker_unreachable():
        job, _ = bulk_invite_start(project=project, actor=Actor(user=people["admin"]), rows=rows)
        with pytest.raises(RuntimeError):
            bulk_invite_process(job_id=job.pk)
    job.refresh_from_db()
    assert job.processed == 3 and [r["outcome"] for r in job.results] == ["invited"] * 3
    for email in ("p4@example.test", "p5@example.test"):  # the failed chunk: nothing at all
        assert not User.objects.filter(email=email).exists()
        assert not EmailAddress.objects.filter(email=email).exists()
        assert not OutboundMessage.objects.filter(to_email=email).exists()
        assert not AuditEvent.objects.filter(target_label__startswith=email).exists()
    assert Membership.objects.filter(project=project, user__email__startswith="p").count() == 3
    assert SecurityRequest.objects.filter(project=project).count() == 3
    assert EventDelivery.objects.filter(subscription__project=project).count() == 6  # 3 × 2 events

    monkeypatch.setattr(outbox, "render_email", render)
    job = bulk_invite_process(job_id=job.pk)
    assert job.status == "done" and job.processed == 5
    assert [r["outcome"] for r in job.results] == ["invited"] * 5
    outbox_relay()
    assert sorted(m.to[0] for m in mailoutbox) == [f"p{n}@example.test" for n in range(1, 6)]


def test_an_account_made_meanwhile_falls_back_to_one_at_a_time(people, settings, monkeypatch):
    """The chunk looked its addresses up, then someone else made an account with one of them: the
    INSERT fails on the unique email, and the chunk is invited one row at a time instead."""
    from accounts.services import invitations

    project, _ = a_project("a", people)
    monkeypatch.setattr(invitations, "_people_known", lambda project, invites: (set(), set()))
    job = run(
        project,
        people,
        [{"email": "new1@example.test"}, {"email": "known@example.test"}, {"email": "new2@example.test"}],
    )
    assert [r["outcome"] for r in job.results] == ["invited", "added", "invited"]
    assert User.objects.filter(email="known@example.test").count() == 1
    assert OutboundMessage.objects.filter(project=project).count() == 3


def test_a_chunk_of_new_people_takes_a_fixed_number_of_statements(people, settings):
    """The point of the batches: statements per chunk do not grow with the chunk (was ~25 a person)."""
    project, _ = a_project("a", people)

    def statements(rows: int) -> int:
        settings.BULK_INVITE_CHUNK_SIZE = rows
        data = [{"email": f"n{rows}-{n}@example.test"} for n in range(rows)]
        with broker_unreachable():
            job, _ = bulk_invite_start(project=project, actor=Actor(user=people["admin"]), rows=data)
            with CaptureQueriesContext(connection) as queries:
                job = bulk_invite_process(job_id=job.pk)
        assert [r["outcome"] for r in job.results] == ["invited"] * rows
        return len(queries)

    assert statements(5) == statements(40) < 40
