"""The project portal: users page, membership edit, access policies, isolation and roles."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import AccessPolicy, Membership, Role
from audit.models import AuditAction, AuditEvent
from tests.factories import AccessPolicyFactory, AccessPolicyRuleFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def users_url(project, **query):
    url = reverse("portal:users", kwargs={"project_slug": project.slug})
    if query:
        from urllib.parse import urlencode

        url += "?" + urlencode(query)
    return url


def membership_url(membership, name="portal:membership"):
    return reverse(name, kwargs={"project_slug": membership.project.slug, "membership_id": membership.pk})


def policy_url(policy, name="portal:policy"):
    return reverse(name, kwargs={"project_slug": policy.project.slug, "policy_id": policy.pk})


class TestAccess:
    def test_anonymous_is_sent_to_sign_in(self, client, project):
        response = client.get(users_url(project))
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("account_login"))

    def test_member_without_admin_role_gets_403(self, member_client, project):
        assert member_client.get(users_url(project)).status_code == HTTPStatus.FORBIDDEN

    def test_deactivated_admin_gets_404(self, admin_client, admin_membership, project):
        admin_membership.is_active = False
        admin_membership.save()
        assert admin_client.get(users_url(project)).status_code == HTTPStatus.NOT_FOUND

    def test_other_project_is_404(self, admin_client, other_project):
        assert admin_client.get(users_url(other_project)).status_code == HTTPStatus.NOT_FOUND

    def test_other_projects_membership_is_404_even_under_own_project(
        self, admin_client, project, foreign_membership
    ):
        url = reverse(
            "portal:membership", kwargs={"project_slug": project.slug, "membership_id": foreign_membership.pk}
        )
        assert admin_client.get(url).status_code == HTTPStatus.NOT_FOUND
        response = admin_client.post(url, {"role": "admin"})
        assert response.status_code == HTTPStatus.NOT_FOUND
        foreign_membership.refresh_from_db()
        assert foreign_membership.role == Role.MEMBER
        deactivate = reverse(
            "portal:membership_deactivate",
            kwargs={"project_slug": project.slug, "membership_id": foreign_membership.pk},
        )
        assert admin_client.post(deactivate).status_code == HTTPStatus.NOT_FOUND
        foreign_membership.refresh_from_db()
        assert foreign_membership.is_active

    def test_other_projects_policy_is_404(self, admin_client, project, foreign_policy):
        for name in ("portal:policy", "portal:policy_delete"):
            url = reverse(name, kwargs={"project_slug": project.slug, "policy_id": foreign_policy.pk})
            assert admin_client.get(url).status_code == HTTPStatus.NOT_FOUND
            assert admin_client.post(url, {"name": "stolen"}).status_code == HTTPStatus.NOT_FOUND
        assert AccessPolicy.objects.filter(pk=foreign_policy.pk, name=foreign_policy.name).exists()

    def test_home_redirects_admin_to_their_project(self, admin_client, project):
        response = admin_client.get(reverse("portal:home"))
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == reverse("portal:project", args=[project.slug])

    def test_home_for_plain_member_lists_projects(self, member_client, project):
        response = member_client.get(reverse("portal:home"))
        assert response.status_code == HTTPStatus.OK
        assert project.name in response.content.decode()

    def test_project_switcher_only_offers_administered_projects(self, admin_client, admin_user, project):
        second = MembershipFactory(user=admin_user, role="admin").project
        member_only = MembershipFactory(user=admin_user, role="member").project
        body = admin_client.get(users_url(project)).content.decode()
        assert second.slug in body
        assert member_only.slug not in body
        response = admin_client.get(reverse("portal:switch") + f"?project={second.slug}&section=users")
        assert response["Location"] == users_url(second)
        assert admin_client.get(reverse("portal:switch") + f"?project={member_only.slug}").status_code == 403


class TestUsersPage:
    def test_search_by_name_email_and_external_id(self, admin_client, project):
        ada = MembershipFactory(project=project, user=UserFactory(first_name="Ada", last_name="Lovelace"))
        grace = MembershipFactory(
            project=project, user=UserFactory(email="grace@navy.test"), external_id="okta|g1"
        )
        for query, expected, absent in (
            ("lovelace", ada, grace),
            ("navy.test", grace, ada),
            ("okta|g1", grace, ada),
        ):
            page = admin_client.get(users_url(project, q=query)).context["page"]
            assert expected in page.object_list
            assert absent not in page.object_list

    def test_filter_by_role_and_status(self, admin_client, project, member_membership):
        inactive = MembershipFactory(project=project, is_active=False)
        page = admin_client.get(users_url(project, role="member", status="inactive")).context["page"]
        assert list(page.object_list) == [inactive]
        page = admin_client.get(users_url(project, role="admin")).context["page"]
        assert {m.role for m in page.object_list} == {"admin"}

    def test_people_who_have_not_accepted_show_as_invited(
        self, admin_client, project, admin_user, member_membership
    ):
        """#13 item 9: they showed as Active."""
        from accounts.services.invitations import InviteInput, invitation_create
        from audit.context import Actor

        actor = Actor(user=admin_user)
        waiting = invitation_create(project=project, actor=actor, data=InviteInput(email="new@example.test"))
        external = invitation_create(project=project, actor=actor, data=InviteInput(external_id="okta|9"))
        added = invitation_create(
            project=project,
            actor=actor,
            data=InviteInput(email=UserFactory(email="known@example.test").email),
        )
        response = admin_client.get(users_url(project))
        rows = {
            m.pk: line
            for m in response.context["page"].object_list
            for line in response.content.decode().split("<tr>")
            if f"/users/{m.pk}/" in line
        }
        for result in (waiting, external):
            assert "Invited" in rows[result.membership.pk] and ">Active<" not in rows[result.membership.pk]
        for membership in (added.membership, member_membership):
            assert ">Active<" in rows[membership.pk] and "Invited" not in rows[membership.pk]
        invited = admin_client.get(users_url(project, status="invited")).context["page"].object_list
        assert {m.pk for m in invited} == {waiting.membership.pk, external.membership.pk}
        active = admin_client.get(users_url(project, status="active")).context["page"].object_list
        assert waiting.membership.pk not in {m.pk for m in active} and added.membership.pk in {
            m.pk for m in active
        }

    def test_pagination_and_sort(self, admin_client, project, settings):
        settings.PORTAL_PAGE_SIZE = 5
        for n in range(12):
            MembershipFactory(project=project, user=UserFactory(email=f"z{n:02d}@sort.test"))
        first = admin_client.get(users_url(project, sort="email")).context["page"]
        assert first.paginator.count == 14  # 12 + owner + admin
        assert first.paginator.num_pages == 3
        emails = [m.user.email for m in first.object_list]
        assert emails == sorted(emails)
        last = admin_client.get(users_url(project, sort="email", page=3)).context["page"]
        assert len(last.object_list) == 4
        body = admin_client.get(users_url(project, sort="-email", q="sort.test")).content.decode()
        assert "page=2" in body and "sort=-email" in body and "q=sort.test" in body


class TestMembershipEdit:
    def test_admin_edits_role_policy_parameters_and_profile(
        self, admin_client, admin_user, project, member_membership
    ):
        policy = AccessPolicyFactory(project=project)
        AccessPolicyRuleFactory(policy=policy, criteria="Patient?organization=%org")
        response = admin_client.post(
            membership_url(member_membership),
            {
                "role": "admin",
                "access_policy": str(policy.pk),
                "access_parameters": "org=Organization/7",
                "external_id": "ext-1",
                "profile": "Practitioner/42",
            },
        )
        assert response.status_code == HTTPStatus.FOUND
        member_membership.refresh_from_db()
        assert member_membership.role == "admin"
        assert member_membership.access_policy == policy
        assert member_membership.access_parameters == {"org": "Organization/7"}
        assert member_membership.profile == "Practitioner/42"
        event = AuditEvent.objects.get(
            action=AuditAction.MEMBERSHIP_UPDATED, target_id=str(member_membership.pk)
        )
        assert event.actor_user == admin_user
        assert event.project == project
        assert event.details["changes"]["role"] == ["member", "admin"]

    def test_field_errors_are_shown_and_nothing_changes(self, admin_client, project, member_membership):
        response = admin_client.post(
            membership_url(member_membership), {"role": "admin", "profile": "Banana/1"}
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "profile" in response.context["form"].errors
        assert "Practitioner/123" in response.content.decode()
        member_membership.refresh_from_db()
        assert member_membership.role == "member"
        assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_UPDATED).exists()

    def test_missing_policy_parameter_is_a_field_error(self, admin_client, project, member_membership):
        policy = AccessPolicyFactory(project=project)
        AccessPolicyRuleFactory(policy=policy, criteria="Patient?organization=%org")
        response = admin_client.post(
            membership_url(member_membership), {"role": "member", "access_policy": str(policy.pk)}
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "%org" in str(response.context["form"].errors["access_parameters"])

    def test_admin_cannot_grant_owner(self, admin_client, member_membership):
        response = admin_client.post(membership_url(member_membership), {"role": "owner"})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        member_membership.refresh_from_db()
        assert member_membership.role == "member"

    def test_deactivate_and_reactivate(self, admin_client, member_membership):
        response = admin_client.post(membership_url(member_membership, "portal:membership_deactivate"))
        assert response.status_code == HTTPStatus.FOUND
        member_membership.refresh_from_db()
        assert not member_membership.is_active and member_membership.deactivated_at is not None
        admin_client.post(membership_url(member_membership, "portal:membership_reactivate"))
        member_membership.refresh_from_db()
        assert member_membership.is_active and member_membership.deactivated_at is None
        actions = list(
            AuditEvent.objects.filter(target_id=str(member_membership.pk))
            .order_by("created_at")
            .values_list("action", flat=True)
        )
        assert actions[-2:] == [AuditAction.MEMBERSHIP_DEACTIVATED, AuditAction.MEMBERSHIP_REACTIVATED]

    def test_deactivate_only_asks_on_get(self, admin_client, member_membership):
        """GET shows the confirmation page (tests/accounts/test_safe_actions.py); only POST acts."""
        response = admin_client.get(membership_url(member_membership, "portal:membership_deactivate"))
        assert response.status_code == HTTPStatus.OK
        assert "Deactivate" in response.content.decode()
        member_membership.refresh_from_db()
        assert member_membership.is_active

    def test_last_owner_cannot_be_deactivated(self, client, project, owner):
        client.force_login(owner)
        membership = Membership.objects.get(user=owner, project=project)
        response = client.post(membership_url(membership, "portal:membership_deactivate"), follow=True)
        membership.refresh_from_db()
        assert membership.is_active
        assert "last active owner" in response.content.decode()


class TestPolicyPages:
    def test_create_with_inline_rules(self, admin_client, project):
        url = reverse("portal:policy_create", kwargs={"project_slug": project.slug})
        assert admin_client.get(url).status_code == HTTPStatus.OK
        data = {
            "name": "Nurses",
            "description": "Ward staff",
            "rules-TOTAL_FORMS": "3",
            "rules-INITIAL_FORMS": "0",
            "rules-0-resource_type": "Patient",
            "rules-0-interactions": "rs",
            "rules-0-criteria": "Patient?organization=%org",
            "rules-1-resource_type": "Observation",
            "rules-1-interactions": "cruds",
            "rules-2-resource_type": "",
            "rules-2-interactions": "",
        }
        response = admin_client.post(url, data)
        assert response.status_code == HTTPStatus.FOUND
        policy = AccessPolicy.objects.get(project=project, name="Nurses")
        assert [str(r) for r in policy.rules.all()] == [
            "Patient.rs?Patient?organization=%org",
            "Observation.cruds",
        ]
        assert AuditEvent.objects.filter(
            action=AuditAction.ACCESS_POLICY_CREATED, target_id=str(policy.pk)
        ).exists()

    def test_invalid_rule_shows_error_and_creates_nothing(self, admin_client, project):
        url = reverse("portal:policy_create", kwargs={"project_slug": project.slug})
        data = {
            "name": "Broken",
            "rules-TOTAL_FORMS": "1",
            "rules-INITIAL_FORMS": "0",
            "rules-0-resource_type": "patient",
            "rules-0-interactions": "dus",
        }
        response = admin_client.post(url, data)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        rule_errors = response.context["rules"].forms[0].errors
        assert "resource_type" in rule_errors and "interactions" in rule_errors
        assert not AccessPolicy.objects.filter(name="Broken").exists()

    def test_add_rule_brings_a_new_row_without_saving(self, admin_client, project):
        """#13 item 4: rows can be added before the policy exists (no JavaScript needed)."""
        url = reverse("portal:policy_create", kwargs={"project_slug": project.slug})
        page = admin_client.get(url)
        assert page.context["rules"].total_form_count() == 1
        data = {
            "name": "Growing",
            "rules-TOTAL_FORMS": "2",
            "rules-INITIAL_FORMS": "0",
            "rules-0-resource_type": "Patient",
            "rules-0-interactions": "rs",
            "rules-0-criteria": "Patinet?x=1",  # a typo is kept as typed, and not judged yet
            "rules-1-resource_type": "Observation",
            "rules-1-interactions": "r",
            "rules-1-DELETE": "on",  # marked for removal: gone from the next page
            "add_rule": "1",
        }
        response = admin_client.post(url, data)
        assert response.status_code == HTTPStatus.OK
        rules = response.context["rules"]
        assert rules.total_form_count() == 2
        html = response.content.decode()
        assert 'value="Patinet?x=1"' in html and 'value="Observation"' not in html
        assert "errorlist" not in html and "autofocus" in html
        assert not AccessPolicy.objects.filter(name="Growing").exists()

    def test_rule_help_and_errors_are_shown_on_their_row(self, admin_client, project):
        url = reverse("portal:policy_create", kwargs={"project_slug": project.slug})
        html = admin_client.get(url).content.decode()
        for help_text in (
            "A FHIR R4 resource type such as Patient",
            "Letters of cruds",
            "Patient?organization=%org",
        ):
            assert help_text in html
        assert 'aria-describedby="rules-help-resource_type"' in html
        data = {
            "name": "Typos",
            "rules-TOTAL_FORMS": "3",
            "rules-INITIAL_FORMS": "0",
            "rules-0-resource_type": "Patient",
            "rules-0-interactions": "rs",
            "rules-1-resource_type": "Patinet",
            "rules-1-interactions": "rs",
            "rules-2-resource_type": "Patient",
            "rules-2-interactions": "rs",
        }
        response = admin_client.post(url, data)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        forms = response.context["rules"].forms
        assert forms[1].errors["resource_type"] == [
            "Patinet is not a FHIR R4 resource type. Did you mean Patient?"
        ]
        assert 'aria-invalid="true"' in response.content.decode()
        # Fixed, the third row repeats the first: the service says so, on that row.
        data["rules-1-resource_type"] = "Observation"
        response = admin_client.post(url, data)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response.context["rules"].forms[2].non_field_errors() == ["The same rule as rule 1."]
        assert "The same rule as rule 1." in response.content.decode()
        # No rule at all.
        empty = admin_client.post(
            url, {"name": "Empty", "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "0"}
        )
        assert empty.status_code == HTTPStatus.BAD_REQUEST
        assert "A policy needs at least one rule" in empty.content.decode()
        assert not AccessPolicy.objects.filter(project=project, name__in=["Typos", "Empty"]).exists()

    def test_edit_replaces_rules_and_deletes_marked(self, admin_client, project, policy):
        AccessPolicyRuleFactory(policy=policy, resource_type="Patient", interactions="r")
        data = {
            "name": policy.name,
            "rules-TOTAL_FORMS": "2",
            "rules-INITIAL_FORMS": "1",
            "rules-0-resource_type": "Patient",
            "rules-0-interactions": "r",
            "rules-0-DELETE": "on",
            "rules-1-resource_type": "*",
            "rules-1-interactions": "rs",
        }
        assert admin_client.post(policy_url(policy), data).status_code == HTTPStatus.FOUND
        assert [str(r) for r in policy.rules.all()] == ["*.rs"]

    def test_duplicate_name_is_a_field_error(self, admin_client, project, policy):
        url = reverse("portal:policy_create", kwargs={"project_slug": project.slug})
        response = admin_client.post(
            url,
            {
                "name": policy.name.upper(),
                "rules-TOTAL_FORMS": "1",
                "rules-INITIAL_FORMS": "0",
                "rules-0-resource_type": "Patient",
                "rules-0-interactions": "rs",
            },
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "name" in response.context["form"].errors

    def test_delete_unused_policy(self, admin_client, policy):
        assert admin_client.get(policy_url(policy, "portal:policy_delete")).status_code == HTTPStatus.OK
        assert admin_client.post(policy_url(policy, "portal:policy_delete")).status_code == HTTPStatus.FOUND
        assert not AccessPolicy.objects.filter(pk=policy.pk).exists()

    def test_policy_in_use_cannot_be_deleted(self, admin_client, policy, member_membership):
        member_membership.access_policy = policy
        member_membership.save()
        page = admin_client.get(policy_url(policy, "portal:policy_delete")).content.decode()
        assert "in use" in page and "1 membership" in page
        admin_client.post(policy_url(policy, "portal:policy_delete"))
        assert AccessPolicy.objects.filter(pk=policy.pk).exists()

    def test_policy_list_search(self, admin_client, project):
        AccessPolicyFactory(project=project, name="Lab readers")
        AccessPolicyFactory(project=project, name="Billing")
        url = reverse("portal:policies", kwargs={"project_slug": project.slug}) + "?q=lab"
        names = [p.name for p in admin_client.get(url).context["page"]]
        assert names == ["Lab readers"]


class TestOtherSections:
    # Every declared section is built (webhooks was the last "coming soon" one: tests/webhooks/test_portal.py).

    def test_audit_log_page_is_scoped_to_the_project(
        self, admin_client, project, other_project, member_membership, actor_for, admin_user
    ):
        from accounts.services import membership_update

        membership_update(membership=member_membership, actor=actor_for(admin_user), external_id="seen")
        foreign = MembershipFactory(project=other_project)
        membership_update(membership=foreign, actor=actor_for(admin_user), external_id="unseen")
        response = admin_client.get(reverse("portal:audit", kwargs={"project_slug": project.slug}))
        events = list(response.context["page"])
        assert events and all(e.project_id == project.pk for e in events)
