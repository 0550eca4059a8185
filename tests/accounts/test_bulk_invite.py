"""Bulk invite: every bad row reported and skipped, good rows invited in the background, idempotent."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import BulkInvite, Membership, User
from notifications.models import OutboundMessage
from tests.factories import AccessPolicyFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

CSV = b"""email,first_name,last_name,role,access_policy,parameters,profile
ada@example.test,Ada,Lovelace,member,Readers,org=Organization/1,Practitioner/1
not-an-email,Bad,Row,member,,,
grace@example.test,Grace,Hopper,admin,,,
,No,Identity,member,,,
ada@example.test,Ada,Again,member,,,
alan@example.test,Alan,Turing,wizard,,,
kim@example.test,Kim,Lee,member,Nope,,
eve@example.test,Eve,Existing,member,,,Banana/1
"""


@pytest.fixture
def readers(project):
    policy = AccessPolicyFactory(project=project, name="Readers")
    policy.rules.create(resource_type="Patient", interactions="rs", criteria="Patient?organization=%org")
    return policy


def upload(client, project, content=CSV, name="people.csv"):
    url = reverse("portal:bulk_invite_upload", kwargs={"project_slug": project.slug})
    return client.post(
        url, {"file": SimpleUploadedFile(name, content, content_type="text/csv"), "send_email": "on"}
    )


def test_csv_with_bad_rows(admin_client, project, readers, mailoutbox):
    response = upload(admin_client, project)
    assert response.status_code == HTTPStatus.SEE_OTHER
    job = BulkInvite.objects.get()
    assert response["Location"].endswith(f"/users/invite/bulk/{job.pk}/")
    rejected = {row["row"]: set(row["fields"]) for row in job.invalid_rows}
    assert rejected == {2: {"email"}, 4: {"email"}, 5: {"email"}, 6: {"role"}, 7: {"access_policy"}}
    # valid rows ran in-process (no Redis): ada, grace invited; eve failed on her profile
    job.refresh_from_db()
    assert job.status == "done" and job.processed == job.total == 3
    outcomes = {r["email"]: r["outcome"] for r in job.results}
    assert outcomes == {
        "ada@example.test": "invited",
        "grace@example.test": "invited",
        "eve@example.test": "error",
    }
    assert not User.objects.filter(
        email__in=["kim@example.test", "alan@example.test", "eve@example.test"]
    ).exists()
    ada = Membership.objects.get(user__email="ada@example.test")
    assert ada.access_policy == readers and ada.access_parameters == {"org": "Organization/1"}
    assert sorted(m.to[0] for m in mailoutbox) == ["ada@example.test", "grace@example.test"]
    page = admin_client.get(response["Location"]).content.decode()
    assert "Rows rejected before inviting" in page and "No access policy" in page and "Banana/1" not in page
    assert "FHIR reference" in page or "not valid" in page


def test_same_file_twice_is_one_job(admin_client, project, readers, mailoutbox):
    first = upload(admin_client, project)
    second = upload(admin_client, project, name="people-again.csv")
    assert first["Location"] == second["Location"]
    assert BulkInvite.objects.count() == 1
    assert len(mailoutbox) == 2


def test_rows_for_existing_members_are_reported_not_duplicated(admin_client, project, member_membership):
    content = f"email\n{member_membership.user.email}\nfresh@example.test\n".encode()
    upload(admin_client, project, content)
    outcomes = {r["email"]: r["outcome"] for r in BulkInvite.objects.get().results}
    assert outcomes == {member_membership.user.email: "exists", "fresh@example.test": "invited"}


@pytest.mark.parametrize(
    "content,message",
    [
        (b"name,phone\nx,y\n", "header row"),
        (b"\xff\xfe\x00bad", "UTF-8"),
        (b"email,colour\na@b.test,red\n", "Unknown column"),
    ],
)
def test_unusable_files_are_refused_whole(admin_client, project, content, message):
    response = upload(admin_client, project, content)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.content.decode()
    assert not BulkInvite.objects.exists()


def test_progress_page_follows_a_running_job_without_reloading_itself(admin_client, project):
    """The page shows the progress, follows the job in place with a script while it runs (a timed
    meta refresh would fail WCAG 2.2.1) and offers a reload by hand without JavaScript."""
    job = BulkInvite.objects.create(
        project=project, content_hash="x", rows=[{}] * 10, total=10, processed=4, status="running"
    )
    url = reverse("portal:bulk_invite", kwargs={"project_slug": project.slug, "job_id": job.pk})
    page = admin_client.get(url).content.decode()
    assert 'value="4"' in page and "40%" in page and 'http-equiv="refresh"' not in page
    assert 'data-finished="false"' in page and "js/bulk-progress.js" in page and "show progress</a>" in page
    BulkInvite.objects.filter(pk=job.pk).update(processed=10, status="done")
    finished = admin_client.get(url).content.decode()
    assert 'data-finished="true"' in finished and "100%" in finished and "show progress</a>" not in finished


def test_api_bulk_invite_and_status(project, admin_user, readers):
    api = APIClient()
    api.force_authenticate(admin_user)
    rows = [
        {"email": "one@example.test", "access_policy": "Readers", "parameters": {"org": "Organization/2"}},
        {"email": "bad"},
        {"external_id": "okta|7", "first_name": "Ext"},
    ]
    url = f"/api/v1/projects/{project.pk}/invites/bulk/"
    response = api.post(url, {"rows": rows}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["invalid_rows"][0]["row"] == 2 and "email" in body["invalid_rows"][0]["fields"]
    status = api.get(f"{url}{body['id']}/").json()
    assert status["status"] == "done" and status["processed"] == 2 and status["percent"] == 100
    # The external-ID-only row is a new account too (#13 item 5: it was counted as "added").
    assert (
        status["summary"]["invited"] == 2
        and status["summary"]["added"] == 0
        and status["summary"]["invalid"] == 1
    )
    again = api.post(url, {"rows": rows}, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert OutboundMessage.objects.count() == 1


def test_bulk_jobs_of_other_projects_are_404(admin_client, project, other_project):
    owner = MembershipFactory(project=other_project, role="owner").user
    job = BulkInvite.objects.create(project=other_project, created_by=owner, content_hash="y")
    url = reverse("portal:bulk_invite", kwargs={"project_slug": project.slug, "job_id": job.pk})
    assert admin_client.get(url).status_code == 404
    api = APIClient()
    api.force_login(User.objects.get(pk=admin_client.session["_auth_user_id"]))
    assert api.get(f"/api/v1/projects/{project.pk}/invites/bulk/{job.pk}/").status_code == 404


class TestStalledJobs:
    """A job whose publish failed (broker down) is not stuck `queued`: the relay resumes it."""

    ROWS = [{"email": "stalled1@example.test"}, {"email": "stalled2@example.test"}]

    def start_with_broker_down(self, project, owner):
        from accounts.services.bulk_invites import bulk_invite_start
        from audit.context import Actor
        from tests.support.services import broker_unreachable

        with broker_unreachable():
            job, created = bulk_invite_start(project=project, actor=Actor(user=owner), rows=self.ROWS)
        assert created
        job.refresh_from_db()
        assert job.status == "queued" and job.processed == 0
        return job

    def test_relay_finishes_a_job_whose_publish_failed(self, project, owner, clock, settings, mailoutbox):
        from notifications.services import outbox_relay

        settings.BULK_INVITE_STALL_SECONDS = 60
        job = self.start_with_broker_down(project, owner)
        outbox_relay()  # too fresh to be called stalled: the first publish may still be on its way
        job.refresh_from_db()
        assert job.status == "queued"
        clock.advance(timedelta(seconds=61))
        outbox_relay()
        job.refresh_from_db()
        assert job.status == "done" and job.processed == job.total == 2
        assert {r["outcome"] for r in job.results} == {"invited"}
        assert Membership.objects.filter(project=project, user__email__startswith="stalled").count() == 2
        assert sorted(m.to[0] for m in mailoutbox) == ["stalled1@example.test", "stalled2@example.test"]

    def test_resuming_a_finished_or_moving_job_changes_nothing(self, project, owner, clock, settings):
        from accounts.services.bulk_invites import bulk_invite_resume_stalled

        settings.BULK_INVITE_STALL_SECONDS = 60
        job = self.start_with_broker_down(project, owner)
        clock.advance(timedelta(seconds=61))
        assert bulk_invite_resume_stalled() == 1
        assert bulk_invite_resume_stalled() == 0  # done now: never published again
        job.refresh_from_db()
        assert Membership.objects.filter(project=project).count() == 3  # the owner and two invitees
        assert len(job.results) == 2


class TestAJobThatKeepsFailing:
    def test_is_failed_after_the_allowed_restarts_instead_of_republished_forever(
        self, project, owner, clock, settings, monkeypatch
    ):
        from accounts import tasks
        from accounts.services.bulk_invites import bulk_invite_resume_stalled, bulk_invite_start
        from audit.context import Actor
        from tests.support.services import broker_unreachable

        settings.BULK_INVITE_STALL_SECONDS = 60
        settings.BULK_INVITE_MAX_RESUMES = 3
        with broker_unreachable():
            job, _ = bulk_invite_start(
                project=project, actor=Actor(user=owner), rows=[{"email": "p@example.test"}]
            )

        def dies(job_id):
            raise RuntimeError("the worker dies on this job")

        monkeypatch.setattr(tasks.process_bulk_invite, "run", dies)
        republished = []
        for _ in range(6):
            clock.advance(timedelta(seconds=61))
            republished.append(bulk_invite_resume_stalled())
        job.refresh_from_db()
        assert republished == [1, 1, 1, 0, 0, 0]
        assert job.status == "failed" and "restarts without progress" in job.last_error


def test_a_new_person_known_only_by_external_id_counts_as_invited(admin_client, project, mailoutbox):
    """#13 item 5: such a row was counted under "Added (existing accounts)"."""
    from accounts.models import SecurityRequest

    content = b"email,external_id,first_name\n,okta|00u9,Kim\nnew@example.test,,New\n"
    response = upload(admin_client, project, content=content, name="ext.csv")
    assert response.status_code == HTTPStatus.SEE_OTHER
    job = BulkInvite.objects.get()
    assert {r.get("email") or "ext": r["outcome"] for r in job.results} == {
        "ext": "invited",
        "new@example.test": "invited",
    }
    page = admin_client.get(response["Location"])
    assert page.context["summary"]["invited"] == 2 and page.context["summary"]["added"] == 0
    html = page.content.decode()
    assert "<dt>Added (existing accounts)</dt><dd>0</dd>" in html
    assert "<dt>Invited (new accounts)</dt><dd>2</dd>" in html
    kim = Membership.objects.get(project=project, external_id="okta|00u9")
    invitation = SecurityRequest.objects.get(membership=kim)
    assert invitation.status == "pending" and invitation.last_sent_at is None and invitation.send_count == 0
    assert len(mailoutbox) == 1  # only the person with an address got an email
