"""Service rules that every entry point relies on."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.db import IntegrityError

from accounts.models import AccessPolicy, Membership, Role, User
from accounts.services import (
    access_policy_create,
    access_policy_delete,
    access_policy_update,
    membership_create,
    membership_deactivate,
    membership_update,
    project_create,
    project_update,
    user_get_or_create,
)
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from identity.errors import ApplicationError
from tests.factories import AccessPolicyFactory, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


class TestUsers:
    def test_email_is_case_insensitively_unique(self):
        User.objects.create_user(email="Ada@Example.test")
        with pytest.raises(IntegrityError):
            User.objects.create_user(email="ada@example.TEST")

    def test_many_users_without_email(self):
        a = User.objects.create_user(email="")
        b = User.objects.create_user(email=None)
        assert a.email is None and b.email is None

    def test_get_or_create_finds_existing_user_by_any_case(self):
        existing = UserFactory(email="grace@example.test")
        user, created = user_get_or_create(email="GRACE@example.test")
        assert user == existing and not created

    def test_new_user_has_unusable_password_and_email_address(self):
        user, created = user_get_or_create(email="new@example.test", first_name="New")
        assert created and not user.has_usable_password()
        assert EmailAddress.objects.filter(
            user=user, email="new@example.test", primary=True, verified=False
        ).exists()


class TestProjectCreate:
    def test_owner_membership_and_audit(self):
        owner = UserFactory()
        project = project_create(name="Acme Health", owner=owner, actor=Actor.system())
        assert project.slug == "acme-health"
        assert Membership.objects.get(project=project, user=owner).role == Role.OWNER
        assert AuditEvent.objects.filter(project=project, action=AuditAction.PROJECT_CREATED).exists()

    def test_slug_is_made_unique(self):
        ProjectFactory(slug="acme")
        project = project_create(name="Acme", owner=UserFactory())
        assert project.slug == "acme-2"

    def test_taken_explicit_slug_is_a_conflict(self):
        ProjectFactory(slug="taken")
        with pytest.raises(ApplicationError) as exc:
            project_create(name="X", slug="taken", owner=UserFactory())
        assert exc.value.status == 409


class TestProjectUpdate:
    def test_only_the_given_fields_change_and_the_diff_is_audited(self, project, actor_for):
        operator = UserFactory(is_staff=True)
        project_update(project=project, actor=actor_for(operator), display_name=" Lab ", mfa_required=True)
        project.refresh_from_db()
        assert (project.display_name, project.mfa_required, project.name) == ("Lab", True, project.name)
        event = AuditEvent.objects.get(action=AuditAction.PROJECT_UPDATED, target_id=str(project.pk))
        assert event.details["changes"] == {"display_name": ["", "Lab"], "mfa_required": [False, True]}
        assert event.actor_user == operator

    def test_nothing_changed_records_nothing(self, project):
        project_update(project=project, actor=Actor.system(), name=project.name)
        assert not AuditEvent.objects.filter(action=AuditAction.PROJECT_UPDATED).exists()

    def test_another_projects_policy_is_no_default(self, project, foreign_policy):
        with pytest.raises(ApplicationError) as exc:
            project_update(project=project, actor=Actor.system(), default_access_policy=foreign_policy)
        assert "default_access_policy" in exc.value.fields

    def test_taken_slug_is_a_conflict_and_model_rules_hold(self, project, other_project):
        with pytest.raises(ApplicationError) as exc:
            project_update(project=project, actor=Actor.system(), slug=other_project.slug)
        assert exc.value.status == 409
        with pytest.raises(ApplicationError) as exc:
            project_update(project=project, actor=Actor.system(), allowed_sign_in_methods=[])
        assert "allowed_sign_in_methods" in exc.value.fields

    def test_unknown_fields_are_a_programming_error(self, project):
        with pytest.raises(TypeError):
            project_update(project=project, actor=Actor.system(), id="x")


class TestMemberships:
    def test_create_twice_is_a_conflict(self, project, owner):
        user = UserFactory()
        membership_create(project=project, user=user, actor=Actor(user=owner))
        with pytest.raises(ApplicationError) as exc:
            membership_create(project=project, user=user, actor=Actor(user=owner))
        assert exc.value.code == "conflict" and exc.value.status == 409

    def test_new_member_gets_project_default_policy(self, project, owner):
        policy = AccessPolicyFactory(project=project)
        project.default_access_policy = policy
        project.save()
        membership = membership_create(project=project, user=UserFactory(), actor=Actor(user=owner))
        assert membership.access_policy == policy

    def test_external_id_unique_within_project_only(self, project, other_project, owner):
        MembershipFactory(project=project, external_id="ext-1")
        MembershipFactory(project=other_project, external_id="ext-1")  # fine elsewhere
        membership = MembershipFactory(project=project)
        with pytest.raises(ApplicationError) as exc:
            membership_update(membership=membership, actor=Actor(user=owner), external_id="ext-1")
        assert exc.value.fields == {"external_id": ["Already used in this project."]}

    def test_policy_from_other_project_refused(self, member_membership, foreign_policy, owner):
        with pytest.raises(ApplicationError) as exc:
            membership_update(
                membership=member_membership, actor=Actor(user=owner), access_policy=foreign_policy
            )
        assert "access_policy" in exc.value.fields
        member_membership.refresh_from_db()
        assert member_membership.access_policy is None

    def test_only_owner_grants_owner(self, admin_user, owner, member_membership):
        with pytest.raises(ApplicationError) as exc:
            membership_update(membership=member_membership, actor=Actor(user=admin_user), role=Role.OWNER)
        assert exc.value.status == 403
        membership_update(membership=member_membership, actor=Actor(user=owner), role=Role.OWNER)
        member_membership.refresh_from_db()
        assert member_membership.role == Role.OWNER

    def test_last_owner_cannot_step_down_but_can_after_another_owner(self, project, owner):
        mine = Membership.objects.get(project=project, user=owner)
        with pytest.raises(ApplicationError) as exc:
            membership_update(membership=mine, actor=Actor(user=owner), role=Role.ADMIN)
        assert exc.value.code == "last_owner"
        with pytest.raises(ApplicationError):
            membership_deactivate(membership=mine, actor=Actor(user=owner))
        MembershipFactory(project=project, role=Role.OWNER)
        membership_update(membership=mine, actor=Actor(user=owner), role=Role.ADMIN)
        mine.refresh_from_db()
        assert mine.role == Role.ADMIN

    def test_audit_records_diff_and_scrubs_secrets(self, member_membership, admin_user):
        membership_update(
            membership=member_membership,
            actor=Actor(user=admin_user, ip_address="198.51.100.2", user_agent="UA/1"),
            access_parameters={"org": "Organization/1", "api_token": "s3cret"},
        )
        event = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_UPDATED)
        assert event.ip_address == "198.51.100.2" and event.user_agent == "UA/1"
        before, after = event.details["changes"]["access_parameters"]
        assert after == {"org": "Organization/1", "api_token": "[redacted]"}
        assert "s3cret" not in str(event.details)

    def test_no_change_records_nothing(self, member_membership, admin_user):
        membership_update(
            membership=member_membership, actor=Actor(user=admin_user), role=member_membership.role
        )
        assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_UPDATED).exists()


class TestAccessPolicies:
    def test_all_rule_errors_reported_at_once_and_nothing_saved(self, project, owner):
        with pytest.raises(ApplicationError) as exc:
            access_policy_create(
                project=project,
                name="Bad",
                actor=Actor(user=owner),
                rules=[
                    {"resource_type": "Patient", "interactions": "rs"},
                    {"resource_type": "patient", "interactions": "rs"},
                    {"resource_type": "Observation", "interactions": "dus"},
                    {"resource_type": "Observation", "interactions": "rr"},
                ],
            )
        assert set(exc.value.fields) == {
            "rules.1.resource_type",
            "rules.2.interactions",
            "rules.3.interactions",
        }
        assert not AccessPolicy.objects.filter(name="Bad").exists()

    @pytest.mark.parametrize("letters", ["c", "rs", "cruds", "cud", "ds"])
    def test_valid_smart_interactions(self, project, owner, letters):
        policy = access_policy_create(
            project=project,
            name=letters,
            actor=Actor(user=owner),
            rules=[{"resource_type": "*", "interactions": letters}],
        )
        assert policy.rules.get().interactions == letters

    def test_same_name_allowed_in_another_project(self, project, other_project, owner):
        rules = [{"resource_type": "Patient", "interactions": "rs"}]
        mine = access_policy_create(project=project, name="Readers", actor=Actor(user=owner), rules=rules)
        theirs = access_policy_create(
            project=other_project, name="Readers", actor=Actor.system(), rules=rules
        )
        assert mine.pk != theirs.pk
        assert set(AccessPolicy.objects.filter(name="Readers").values_list("project_id", flat=True)) == {
            project.pk,
            other_project.pk,
        }
        # The name is unique per project, not absent: taken again in the same project, it is refused.
        with pytest.raises(ApplicationError) as exc:
            access_policy_create(project=other_project, name="readers", actor=Actor.system(), rules=rules)
        assert exc.value.status == 409

    def test_update_replaces_rules(self, project, owner):
        policy = access_policy_create(
            project=project,
            name="P",
            actor=Actor(user=owner),
            rules=[{"resource_type": "Patient", "interactions": "r"}],
        )
        access_policy_update(
            policy=policy, actor=Actor(user=owner), rules=[{"resource_type": "*", "interactions": "rs"}]
        )
        assert [str(r) for r in policy.rules.all()] == ["*.rs"]
        event = AuditEvent.objects.get(action=AuditAction.ACCESS_POLICY_UPDATED)
        assert event.details["changes"]["rules"] == [["Patient.r"], ["*.rs"]]

    def test_delete_refused_while_default_of_project(self, project, owner):
        policy = AccessPolicyFactory(project=project)
        project.default_access_policy = policy
        project.save()
        with pytest.raises(ApplicationError) as exc:
            access_policy_delete(policy=policy, actor=Actor(user=owner))
        assert exc.value.code == "policy_in_use"
        project.default_access_policy = None
        project.save()
        access_policy_delete(policy=policy, actor=Actor(user=owner))
        assert not AccessPolicy.objects.filter(pk=policy.pk).exists()
        assert AuditEvent.objects.filter(
            action=AuditAction.ACCESS_POLICY_DELETED, target_id=str(policy.pk)
        ).exists()


def test_only_owner_deactivates_an_owner(project, owner, admin_user):
    second_owner = MembershipFactory(project=project, role=Role.OWNER)
    with pytest.raises(ApplicationError) as exc:
        membership_deactivate(membership=second_owner, actor=Actor(user=admin_user))
    assert exc.value.status == 403
    second_owner.refresh_from_db()
    assert second_owner.is_active
    membership_deactivate(membership=second_owner, actor=Actor(user=owner))
    second_owner.refresh_from_db()
    assert not second_owner.is_active


def test_policy_update_without_change_records_nothing(project, owner):
    rules = [{"resource_type": "Patient", "interactions": "rs"}]
    policy = access_policy_create(project=project, name="Same", actor=Actor(user=owner), rules=rules)
    access_policy_update(policy=policy, actor=Actor(user=owner), name="Same", rules=rules)
    assert not AuditEvent.objects.filter(action=AuditAction.ACCESS_POLICY_UPDATED).exists()
    access_policy_update(policy=policy, actor=Actor(user=owner), description="now described")
    event = AuditEvent.objects.get(action=AuditAction.ACCESS_POLICY_UPDATED)
    assert event.details["changes"]["description"] == ["", "now described"]


def test_automation_client_cannot_make_owners_even_in_bulk(project, owner):
    """A client-credentials actor has no user; it must never count as the system."""
    from accounts.services.bulk_invites import bulk_invite_process, bulk_invite_start

    robot = Actor(client_id="hr-sync-client")
    with pytest.raises(ApplicationError) as exc:
        membership_create(project=project, user=UserFactory(), actor=robot, role=Role.OWNER)
    assert exc.value.status == 403
    job, _ = bulk_invite_start(
        project=project, actor=robot, rows=[{"email": "boss@evil.test", "role": "owner"}]
    )
    job = bulk_invite_process(job_id=job.pk)
    assert job.results[0]["outcome"] == "error"
    assert not Membership.objects.filter(project=project, user__email="boss@evil.test").exists()
    assert Actor.system().is_system and not Actor().is_system
