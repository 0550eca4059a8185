"""The project portal: thin views that parse input, call services/selectors and render."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views import View

from accounts import selectors, services
from accounts.forms import (
    AccessPolicyForm,
    MemberProfileForm,
    MembershipFilterForm,
    MembershipForm,
    ProjectCreateForm,
    ProjectSettingsForm,
    RuleFormSet,
)
from accounts.models import Role, User
from accounts.services.access_parameters import access_parameters_format
from accounts.services.access_policies import access_policy_usage
from accounts.services.lockout import account_locked_until
from audit import selectors as audit_selectors
from audit.context import Actor
from audit.exports import audit_csv_response
from audit.forms import AuditFilterForm
from audit.presentation import audit_events_describe
from identity import flash
from identity.errors import ApplicationError
from identity.portal import (
    LAST_PROJECT_KEY,
    ConfirmActionMixin,
    Confirmation,
    ProjectAdminView,
    form_add_service_error,
    paginate,
    query_without_page,
    section_url_name,
)


class HomeView(LoginRequiredMixin, View):
    """Send admins to the project they last worked in (else their first); tell everybody else
    what they can do."""

    def get(self, request: HttpRequest) -> HttpResponse:
        administered = selectors.project_list_administered(user=request.user)
        last = request.session.get(LAST_PROJECT_KEY)
        chosen = (administered.filter(slug=last).first() if last else None) or administered.first()
        if chosen is not None:
            return redirect("portal:project", project_slug=chosen.slug)
        return render(
            request, "portal/home.html", {"projects": selectors.project_list_for_user(user=request.user)}
        )


class ProjectCreateView(LoginRequiredMixin, View):
    """Operators (superusers) create a project here, as `createproject` does; they become its
    first owner and invite the others. Everybody else: 404 (the page does not exist for them)."""

    template_name = "portal/project_new.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.user.is_authenticated and not request.user.is_superuser:
            raise Http404("No such page.")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ProjectCreateForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProjectCreateForm(request.POST)
        if form.is_valid():
            try:
                project = services.project_create(
                    name=form.cleaned_data["name"],
                    slug=form.cleaned_data["slug"] or None,
                    owner=cast(User, request.user),  # LoginRequiredMixin
                    actor=Actor.from_request(request),
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.PROJECT_CREATED, name=project.name)
                return redirect("portal:project", project_slug=project.slug)
        return render(request, self.template_name, {"form": form}, status=400)


class SwitchProjectView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        slug = request.GET.get("project", "")
        project, _ = selectors.project_get_for_admin(user=request.user, slug=slug)
        # The same section in the other project (its list page), else the project's home.
        url_name = section_url_name(request.GET.get("section", ""))
        return redirect(url_name or "portal:project", project_slug=project.slug)


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


def _profile_refusal_text(membership, actor) -> str:
    from accounts.services.member_profile import membership_profile_refusal

    refusal = membership_profile_refusal(membership=membership, actor=actor)
    return refusal.message if refusal is not None else ""


class MembershipDetailView(ProjectAdminView):
    section = "users"

    def _may(self, membership) -> selectors.MemberPermissions:
        return selectors.member_permissions(
            actor=self.actor, membership=membership, actor_membership=self.my_membership
        )

    def _form(self, membership, data=None, initial=None) -> MembershipForm:
        may = self._may(membership)
        return MembershipForm(
            data,
            project=self.project,
            initial=initial or {"role": membership.role},
            may_change_role=may.change_role,
            may_grant_owner=may.grant_owner,
        )

    def _context(self, membership, form, profile_form=None) -> dict:
        # The member's trail in this project: changes to the membership and the person's own
        # sign-ins, failures and password changes (recorded per project, target = the user).
        events = audit_selectors.audit_event_list(project=self.project).filter(
            target_id__in=[str(membership.pk), str(membership.user_id)]
        )[:20]
        user = membership.user
        may = self._may(membership)
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
            "may": may,
            "email_verified": selectors.user_email_verified(user=user),
            "sign_in_methods": selectors.member_sign_in_methods(
                project=self.project, memberships=[membership]
            ).get(user.pk, []),
            "connected_apps": selectors.member_connected_apps(membership=membership),
            "profile_refusal": "" if may.edit_profile else _profile_refusal_text(membership, self.actor),
            "open_invitation": selectors.member_open_invitation(membership=membership),
            "profile_form": profile_form
            or MemberProfileForm(
                initial={"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
            ),
        }

    def get(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        form = self._form(
            membership,
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
        form = self._form(membership, request.POST)
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


def _person(membership) -> str:
    """A member in plain words: "Ada Lovelace (ada@example.com)", or what is known of them."""
    user = membership.user
    name, email = user.get_full_name(), user.email or membership.external_id
    return f"{name} ({email})" if name and email else name or email or str(user)


class MembershipActionView(ConfirmActionMixin, ProjectAdminView):
    """A destructive or security action on one member: GET asks (identity.portal.Confirmation),
    POST does it and goes back to the member's page."""

    section = "users"

    def membership(self, membership_id):
        return selectors.membership_get(project=self.project, membership_id=membership_id)

    def may(self, membership) -> selectors.MemberPermissions:
        return selectors.member_permissions(
            actor=self.actor, membership=membership, actor_membership=self.my_membership
        )

    def back_url(self, membership) -> str:
        return reverse(
            "portal:membership", kwargs={"project_slug": self.project.slug, "membership_id": membership.pk}
        )

    def back(self, membership, status: int = 302) -> HttpResponse:
        response = HttpResponseRedirect(self.back_url(membership))
        response.status_code = status
        return response


class MembershipProfileView(MembershipDetailView):
    """POST-only: an admin changes the member's name and email (accounts.services.member_profile)."""

    def get(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = selectors.membership_get(project=self.project, membership_id=membership_id)  # 404s
        return redirect("portal:membership", project_slug=self.project.slug, membership_id=membership.pk)

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        from accounts.services.member_profile import membership_profile_update

        membership = selectors.membership_get(project=self.project, membership_id=membership_id)
        profile_form = MemberProfileForm(request.POST)
        if profile_form.is_valid():
            try:
                changed = membership_profile_update(
                    membership=membership, actor=self.actor, **profile_form.cleaned_data
                )
            except ApplicationError as error:
                form_add_service_error(profile_form, error)
            else:
                if "email" in changed:
                    flash.flash(request, flash.MEMBER_EMAIL_CHANGED, email=profile_form.cleaned_data["email"])
                elif changed:
                    flash.flash(request, flash.MEMBERSHIP_SAVED, user=membership.user)
                return redirect(
                    "portal:membership", project_slug=self.project.slug, membership_id=membership.pk
                )
        form = self._form(membership, initial={"role": membership.role})
        return self.render(
            request, "portal/users/detail.html", self._context(membership, form, profile_form), status=400
        )


class MembershipPasswordResetView(MembershipActionView):
    """Email the member a password-reset link (the admin never sees it)."""

    def confirmation(self, *, membership_id) -> Confirmation:
        membership = self.membership(membership_id)
        return Confirmation(
            title=f"Send {_person(membership)} a password reset email?",
            affects=f"{_person(membership)} gets a single-use link to choose a new password.",
            consequences=[
                "Their current password keeps working until they choose a new one.",
                "Earlier unused reset links stop working.",
                "You never see the link; only their mailbox does.",
            ],
            undo="Nothing changes unless they follow the link.",
            button="Send the reset email",
            cancel_url=self.back_url(membership),
        )

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        from accounts.services.member_profile import membership_password_reset_send

        membership = self.membership(membership_id)
        try:
            membership_password_reset_send(membership=membership, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            flash.flash(request, flash.MEMBER_PASSWORD_RESET_SENT, email=membership.user.email)
        return self.back(membership)


class MembershipSignOutView(MembershipActionView):
    """Sign the member out of the project (its apps' tokens and consents go)."""

    def confirmation(self, *, membership_id) -> Confirmation:
        membership = self.membership(membership_id)
        brand = self.project.brand_name
        return Confirmation(
            title=f"Sign {_person(membership)} out of {brand}?",
            affects=f"{_person(membership)} stays a member of {brand}.",
            consequences=[
                f"Every access and refresh token {brand}'s apps hold for them is revoked at once.",
                f"Their consents to {brand}'s apps are forgotten: each app asks them again.",
                "They can sign in again straight away; to stop that, deactivate them instead.",
            ],
            undo="Nothing is deleted; the apps simply need a new sign-in.",
            button="Sign out of this project",
            cancel_url=self.back_url(membership),
        )

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = self.membership(membership_id)
        services.membership_sign_out(membership=membership, actor=self.actor)
        flash.flash(request, flash.MEMBERSHIP_SIGNED_OUT, user=membership.user)
        return self.back(membership)


class MembershipMfaResetView(MembershipActionView):
    """Remove the member's second factors (accounts.services.mfa.membership_mfa_reset)."""

    def confirmation(self, *, membership_id) -> Confirmation:
        from accounts.services.mfa import membership_mfa_reset_refusal

        membership = self.membership(membership_id)
        factors = selectors.member_mfa_factors(memberships=[membership]).get(membership.user_id, [])
        refusal = membership_mfa_reset_refusal(membership=membership, actor=self.actor)
        listed = f" ({', '.join(factors)})" if factors else ""
        brand = self.project.brand_name
        return Confirmation(
            title="Reset two-factor authentication?",
            affects=f"Every second factor of {_person(membership)}{listed}, and their recovery codes, is removed.",
            consequences=[
                "It also signs them out everywhere and revokes every token they hold.",
                "They are emailed that it happened.",
                f"{brand} requires two-factor authentication, so they set up a new factor when they next sign in."
                if self.project.mfa_required
                else "They can set up a new factor in My account after signing in.",
                "Do this only when you are sure who asked: someone who took over their password could "
                "use it to remove the second factor.",
            ],
            undo="This cannot be undone: the removed factors are gone.",
            button="Reset two-factor authentication",
            cancel_url=self.back_url(membership),
            blockers=[refusal.message] if refusal is not None else [],
        )

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        from accounts.services.mfa import membership_mfa_reset

        membership = self.membership(membership_id)
        try:
            membership_mfa_reset(membership=membership, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            flash.flash(request, flash.MEMBERSHIP_MFA_RESET, user=membership.user)
        return self.back(membership)


class MembershipUnlockView(MembershipActionView):
    """Lift the member's sign-in lock after failed attempts (audited)."""

    def confirmation(self, *, membership_id) -> Confirmation:
        membership = self.membership(membership_id)
        until = account_locked_until(user=membership.user)
        return Confirmation(
            title=f"Unlock sign-in for {_person(membership)}?",
            affects=f"Signing in is locked until {until:%Y-%m-%d %H:%M} UTC after too many failed attempts."
            if until
            else "Signing in is not locked at the moment; unlocking also clears the delays after failed attempts.",
            consequences=[
                "Anyone who has their password can try to sign in again at once.",
                "Do this only if you know the failed attempts were theirs.",
            ],
            undo="More failed attempts lock the account again.",
            button="Unlock sign-in",
            cancel_url=self.back_url(membership),
        )

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = self.membership(membership_id)
        services.membership_unlock(membership=membership, actor=self.actor)
        flash.flash(request, flash.MEMBERSHIP_UNLOCKED, user=membership.user)
        return self.back(membership, status=303)


class MembershipStatusView(MembershipActionView):
    """Deactivate or reactivate a membership."""

    activate = False

    def confirmation(self, *, membership_id) -> Confirmation:
        membership = self.membership(membership_id)
        may = self.may(membership)
        brand, person = self.project.brand_name, _person(membership)
        if self.activate:
            return Confirmation(
                title=f"Reactivate {person}?",
                affects=f"{person} gets access to {brand} again, with their role and access policy.",
                consequences=["Apps ask for their consent again before they get tokens."],
                undo="You can deactivate them again at any time.",
                button="Reactivate",
                cancel_url=self.back_url(membership),
                blockers=[] if may.reactivate else ["Only an owner can reactivate an owner."],
                danger=False,
            )
        return Confirmation(
            title=f"Deactivate {person}?",
            affects=f"{person} loses access to {brand} at once.",
            consequences=[
                f"Every token {brand}'s apps hold for them is revoked, and their consents are forgotten.",
                f"They can no longer sign in to {brand}'s apps; their account and any other projects "
                "they belong to are not touched.",
            ],
            undo="You can reactivate them later; nothing about the membership is deleted.",
            button="Deactivate",
            cancel_url=self.back_url(membership),
            blockers=[] if may.deactivate else ["Only an owner can deactivate an owner."],
        )

    def post(self, request: HttpRequest, project_slug: str, membership_id) -> HttpResponse:
        membership = self.membership(membership_id)
        service = services.membership_reactivate if self.activate else services.membership_deactivate
        try:
            service(membership=membership, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            done = flash.MEMBERSHIP_REACTIVATED if self.activate else flash.MEMBERSHIP_DEACTIVATED
            flash.flash(request, done, user=membership.user)
        return self.back(membership)


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


class PolicyDeleteView(ConfirmActionMixin, ProjectAdminView):
    section = "policies"

    def confirmation(self, *, policy_id) -> Confirmation:
        policy = selectors.access_policy_get(project=self.project, policy_id=policy_id)
        usage = access_policy_usage(policy)
        blockers = []
        if usage["memberships"]:
            blockers.append(f"Used by {usage['memberships']} membership{pluralize(usage['memberships'])}.")
        if usage["clients"]:
            blockers.append(f"Used by {usage['clients']} client{pluralize(usage['clients'])}.")
        if usage["project_default"]:
            blockers.append("It is the project's default policy.")
        return Confirmation(
            title=f"Delete “{policy.name}”?",
            affects="This policy is in use." if blockers else "Nobody uses this policy.",
            consequences=["The policy and its rules are deleted."],
            undo="This cannot be undone.",
            button="Delete policy",
            cancel_url=reverse(
                "portal:policy", kwargs={"project_slug": self.project.slug, "policy_id": policy.pk}
            ),
            blockers=blockers,
            blocked_advice="Assign another policy first.",
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

    def _form(self, data=None) -> ProjectSettingsForm:
        return ProjectSettingsForm(
            data,
            project=self.project,
            initial={name: getattr(self.project, name) for name in ProjectSettingsForm.base_fields},
            may_change_sign_in_policy=selectors.actor_is_owner(
                project=self.project, actor=self.actor, actor_membership=self.my_membership
            ),
        )

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = self._form()
        return self.render(request, "portal/settings.html", {"form": form})

    def post(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = self._form(request.POST)
        if form.is_valid():
            changed = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                services.project_update(project=self.project, actor=self.actor, **changed)
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.PROJECT_SAVED)
                response = redirect("portal:project_settings", project_slug=self.project.slug)
                response.status_code = 303
                return response
        return self.render(request, "portal/settings.html", {"form": form}, status=400)
