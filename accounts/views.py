"""The project portal: thin views that parse input, call services/selectors and render."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from accounts import selectors, services
from accounts.forms import (
    AccessPolicyForm,
    MembershipFilterForm,
    MembershipForm,
    ProjectSettingsForm,
    RuleFormSet,
)
from accounts.models import Role
from accounts.services.access_parameters import access_parameters_format
from accounts.services.access_policies import access_policy_usage
from accounts.services.lockout import account_locked_until
from audit import selectors as audit_selectors
from audit.exports import audit_csv_response
from audit.forms import AuditFilterForm
from audit.presentation import audit_events_describe
from identity import flash
from identity.errors import ApplicationError
from identity.portal import ProjectAdminView, form_add_service_error, paginate, query_without_page


class HomeView(LoginRequiredMixin, View):
    """Send admins to their first project; tell everybody else what they can do."""

    def get(self, request: HttpRequest) -> HttpResponse:
        administered = list(selectors.project_list_administered(user=request.user)[:1])
        if administered:
            return redirect("portal:users", project_slug=administered[0].slug)
        return render(
            request, "portal/home.html", {"projects": selectors.project_list_for_user(user=request.user)}
        )


class SwitchProjectView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        slug = request.GET.get("project", "")
        project, _ = selectors.project_get_for_admin(user=request.user, slug=slug)
        return redirect("portal:users", project_slug=project.slug)


class ProjectHomeView(ProjectAdminView):
    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        return redirect("portal:users", project_slug=self.project.slug)


class UserListView(ProjectAdminView):
    section = "users"

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        filters = MembershipFilterForm(request.GET or None)
        data = filters.cleaned_data if filters.is_valid() else {}
        memberships = selectors.membership_list(
            project=self.project,
            query=data.get("q", ""),
            role=data.get("role", ""),
            status=data.get("status", ""),
            sort=data.get("sort", ""),
        )
        page = paginate(request, memberships)
        query = request.GET.copy()
        query.pop("page", None)
        sort_query = query.copy()
        sort_query.pop("sort", None)
        page.object_list = list(page.object_list)
        sign_in = selectors.member_sign_in_methods(project=self.project, memberships=page.object_list)
        factors = selectors.member_mfa_factors(memberships=page.object_list)
        for membership in page.object_list:
            membership.sign_in_methods = sign_in.get(membership.user_id, [])
            membership.mfa_factors = factors.get(membership.user_id, [])
        return self.render(
            request,
            "portal/users/list.html",
            {
                "filters": filters,
                "page": page,
                "current_sort": data.get("sort", ""),
                "query_string": query.urlencode(),
                "sort_query_string": sort_query.urlencode(),
            },
        )


class MembershipDetailView(ProjectAdminView):
    section = "users"

    def _context(self, membership, form) -> dict:
        events = audit_selectors.audit_event_list(project=self.project).filter(target_id=str(membership.pk))[
            :10
        ]
        from accounts.services.sessions import session_list

        sessions = session_list(user=membership.user)
        return {
            "membership": membership,
            "form": form,
            "events": events,
            "Role": Role,
            "sessions": sessions,
            "mfa_factors": selectors.member_mfa_factors(memberships=[membership]).get(membership.user_id, []),
            "locked_until": account_locked_until(user=membership.user),
        }

    def get(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        form = MembershipForm(
            project=self.project,
            initial={
                "role": membership.role,
                "access_policy": membership.access_policy,
                "access_parameters": access_parameters_format(membership.access_parameters),
                "external_id": membership.external_id,
                "profile": membership.profile,
            },
        )
        return self.render(request, "portal/users/detail.html", self._context(membership, form))

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        form = MembershipForm(request.POST, project=self.project)
        if form.is_valid():
            try:
                services.membership_update(membership=membership, actor=self.actor, **form.cleaned_data)
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.MEMBERSHIP_SAVED, user=membership.user)
                return redirect(
                    "portal:membership", project_slug=self.project.slug, membership_id=membership.pk
                )
        return self.render(request, "portal/users/detail.html", self._context(membership, form), status=400)


class MembershipSignOutView(ProjectAdminView):
    """POST-only: sign the member out of the project (its apps' tokens and consents go)."""

    section = "users"

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        services.membership_sign_out(membership=membership, actor=self.actor)
        flash.flash(request, flash.MEMBERSHIP_SIGNED_OUT, user=membership.user)
        return redirect("portal:membership", project_slug=self.project.slug, membership_id=membership.pk)


class MembershipMfaResetView(ProjectAdminView):
    """GET asks for confirmation (what will happen); POST removes the member's second factors
    (accounts.services.mfa.membership_mfa_reset)."""

    section = "users"
    template_name = "portal/users/mfa_reset.html"

    def get(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        factors = selectors.member_mfa_factors(memberships=[membership]).get(membership.user_id, [])
        return self.render(request, self.template_name, {"membership": membership, "factors": factors})

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        from accounts.services.mfa import membership_mfa_reset

        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        try:
            membership_mfa_reset(membership=membership, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            flash.flash(request, flash.MEMBERSHIP_MFA_RESET, user=membership.user)
        return redirect("portal:membership", project_slug=self.project.slug, membership_id=membership.pk)


class MembershipUnlockView(ProjectAdminView):
    """POST-only: lift the member's sign-in lock after failed attempts (audited)."""

    section = "users"

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        services.membership_unlock(membership=membership, actor=self.actor)
        flash.flash(request, flash.MEMBERSHIP_UNLOCKED, user=membership.user)
        response = redirect("portal:membership", project_slug=self.project.slug, membership_id=membership.pk)
        response.status_code = 303
        return response


class MembershipStatusView(ProjectAdminView):
    """POST-only: deactivate or reactivate a membership."""

    section = "users"
    activate = False

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        service = services.membership_reactivate if self.activate else services.membership_deactivate
        try:
            service(membership=membership, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            done = flash.MEMBERSHIP_REACTIVATED if self.activate else flash.MEMBERSHIP_DEACTIVATED
            flash.flash(request, done, user=membership.user)
        return redirect("portal:membership", project_slug=self.project.slug, membership_id=membership.pk)


class PolicyListView(ProjectAdminView):
    section = "policies"

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        query = request.GET.get("q", "")
        page = paginate(request, selectors.access_policy_list(project=self.project, query=query))
        return self.render(request, "portal/policies/list.html", {"page": page, "q": query})


class PolicyEditView(ProjectAdminView):
    """Create (no policy_id) or edit a policy with its rules inline (a formset, works without JS)."""

    section = "policies"

    def _policy(self, policy_id):
        return selectors.access_policy_get(project=self.project, policy_id=policy_id) if policy_id else None

    def get(self, request: HttpRequest, project_slug: str, policy_id=None) -> HttpResponse:
        policy = self._policy(policy_id)
        form = AccessPolicyForm(
            initial={"name": policy.name, "description": policy.description} if policy else None
        )
        rules = RuleFormSet(
            prefix="rules",
            initial=[
                {"resource_type": r.resource_type, "interactions": r.interactions, "criteria": r.criteria}
                for r in policy.rules.all()
            ]
            if policy
            else None,
        )
        return self.render(
            request, "portal/policies/edit.html", {"policy": policy, "form": form, "rules": rules}
        )

    def post(self, request: HttpRequest, project_slug: str, policy_id=None) -> HttpResponse:
        policy = self._policy(policy_id)
        if "add_rule" in request.POST:  # "Add rule": the same rows and one more, nothing saved
            return self.render(
                request,
                "portal/policies/edit.html",
                {
                    "policy": policy,
                    "form": AccessPolicyForm(request.POST),
                    "rules": RuleFormSet.with_row_added(request.POST, prefix="rules"),
                    "focus_last_rule": True,
                },
            )
        form = AccessPolicyForm(request.POST)
        rules = RuleFormSet(request.POST, prefix="rules")
        if form.is_valid() and rules.is_valid():
            rule_data = [rule for _, rule in rules.rule_rows()]
            try:
                if policy is None:
                    policy = services.access_policy_create(
                        project=self.project, actor=self.actor, rules=rule_data, **form.cleaned_data
                    )
                else:
                    services.access_policy_update(
                        policy=policy, actor=self.actor, rules=rule_data, **form.cleaned_data
                    )
            except ApplicationError as error:
                if not rules.add_service_error(error) or not error.fields:
                    form_add_service_error(form, error)
            else:
                flash.flash(request, flash.POLICY_SAVED, name=policy.name)
                return redirect("portal:policy", project_slug=self.project.slug, policy_id=policy.pk)
        return self.render(
            request, "portal/policies/edit.html", {"policy": policy, "form": form, "rules": rules}, status=400
        )


class PolicyDeleteView(ProjectAdminView):
    section = "policies"

    def get(self, request: HttpRequest, project_slug: str, policy_id) -> HttpResponse:
        policy = selectors.access_policy_get(project=self.project, policy_id=policy_id)
        usage = access_policy_usage(policy)
        return self.render(
            request,
            "portal/policies/delete.html",
            {"policy": policy, "usage": usage, "in_use": any(usage.values())},
        )

    def post(self, request: HttpRequest, project_slug: str, policy_id) -> HttpResponse:
        policy = selectors.access_policy_get(project=self.project, policy_id=policy_id)
        try:
            services.access_policy_delete(policy=policy, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
            return redirect("portal:policy_delete", project_slug=self.project.slug, policy_id=policy.pk)
        flash.flash(request, flash.POLICY_DELETED, name=policy.name)
        return HttpResponseRedirect(reverse("portal:policies", kwargs={"project_slug": self.project.slug}))


class AuditLogView(ProjectAdminView):
    section = "audit"
    export = False

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponseBase:
        filters = AuditFilterForm(request.GET or None)
        if filters.is_bound and not filters.is_valid():
            events = audit_selectors.audit_event_list(project=self.project).none()
        else:
            events = audit_selectors.audit_event_list(project=self.project, **filters.filters())
        if self.export:
            return audit_csv_response(events, filename=f"audit-{self.project.slug}.csv")
        page = paginate(request, events)
        page.object_list = audit_events_describe(page.object_list, project=self.project)
        return self.render(
            request,
            "portal/audit/list.html",
            {
                "page": page,
                "filters": filters,
                "query_string": query_without_page(request),
            },
            status=400 if filters.is_bound and not filters.is_valid() else 200,
        )


class ProjectSettingsView(ProjectAdminView):
    """The project's settings: branding, sign-in methods, defaults, FHIR base URL."""

    section = "settings"
    fields = (
        "name",
        "display_name",
        "logo_url",
        "support_email",
        "from_email",
        "allowed_sign_in_methods",
        "default_access_policy",
        "allow_self_signup",
        "fhir_base_url",
        "session_idle_minutes",
        "session_max_hours",
    )

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = ProjectSettingsForm(
            project=self.project, initial={name: getattr(self.project, name) for name in self.fields}
        )
        return self.render(request, "portal/settings.html", {"form": form})

    def post(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = ProjectSettingsForm(request.POST, project=self.project)
        if form.is_valid():
            try:
                services.project_update(project=self.project, actor=self.actor, **form.cleaned_data)
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.PROJECT_SAVED)
                response = redirect("portal:project_settings", project_slug=self.project.slug)
                response.status_code = 303
                return response
        return self.render(request, "portal/settings.html", {"form": form}, status=400)
