"""Portal forms: they parse and validate input; services do the work."""

from __future__ import annotations

from typing import cast

from django import forms
from django.forms import formset_factory

from accounts.models import AccessPolicy, Project, Role, SignInMethod
from accounts.services.access_parameters import access_parameters_parse
from accounts.services.access_policies import RuleInput
from accounts.services.access_rules import CRITERIA_HELP, INTERACTIONS_HELP, RESOURCE_TYPE_HELP, rule_problems
from identity.errors import ApplicationError


class MembershipFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={"type": "search"}))
    role = forms.ChoiceField(required=False, choices=[("", "Any role"), *Role.choices])
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any status"),
            ("active", "Active"),
            ("invited", "Invited"),
            ("inactive", "Deactivated"),
        ],
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)


class MembershipForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    access_policy = forms.ModelChoiceField(
        queryset=AccessPolicy.objects.none(), required=False, empty_label="— none (project default) —"
    )
    access_parameters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="name=value, one per line or separated by ';'; fills %name placeholders in the policy's "
        "criteria.",
    )
    external_id = forms.CharField(required=False, max_length=255, label="External ID")
    profile = forms.CharField(
        required=False,
        max_length=100,
        label="FHIR profile",
        help_text="A reference such as Practitioner/123.",
    )

    def __init__(
        self, *args, project: Project, may_change_role: bool = True, may_grant_owner: bool = True, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["access_policy"].queryset = AccessPolicy.objects.filter(project=project).order_by("name")
        # (an owner's own role stays in the list when it is shown, not offered)
        _offer_roles(self.fields["role"], may_grant_owner=may_grant_owner or not may_change_role)
        if not may_change_role:
            # An owner's role, seen by an admin: shown, not offered (accounts.selectors.actor_may;
            # the service refuses anyway). A disabled field keeps its initial value.
            self.fields["role"].disabled = True
            self.fields["role"].help_text = "Only an owner can change an owner's role."

    def clean_access_parameters(self) -> dict[str, str]:
        return access_parameters_parse(self.cleaned_data.get("access_parameters") or "")


def _offer_roles(field: forms.Field, *, may_grant_owner: bool) -> None:
    """Only owners are offered the owner role (accounts.selectors.actor_may_grant_owner)."""
    if not may_grant_owner:
        cast(forms.ChoiceField, field).choices = [(v, label) for v, label in Role.choices if v != Role.OWNER]


class AccessPolicyForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RuleForm(forms.Form):
    resource_type = forms.CharField(
        max_length=64, required=False, label="Resource type", help_text=RESOURCE_TYPE_HELP
    )
    interactions = forms.CharField(max_length=5, required=False, help_text=INTERACTIONS_HELP)
    criteria = forms.CharField(max_length=500, required=False, help_text=CRITERIA_HELP)

    def clean(self):
        data = super().clean() or {}
        if self.is_blank:
            return data  # an empty row is ignored
        for name, messages in rule_problems(data).items():
            for message in messages:
                self.add_error(name, message)
        return data

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any((data.get(k) or "").strip() for k in RULE_FIELDS)


RULE_FIELDS = ("resource_type", "interactions", "criteria")


class BaseRuleFormSet(forms.BaseFormSet):
    """The rule rows of the policy page. Works without JavaScript: "Add rule" posts the rows
    typed so far and gets them back with one more empty row (`with_row_added`), nothing saved."""

    def rule_rows(self) -> list[tuple[int, RuleInput]]:
        """(row index, rule) of the rows that are filled in and not marked for removal."""
        return [
            (
                index,
                RuleInput(
                    resource_type=(form.cleaned_data.get("resource_type") or "").strip(),
                    interactions=(form.cleaned_data.get("interactions") or "").strip(),
                    criteria=(form.cleaned_data.get("criteria") or "").strip(),
                ),
            )
            for index, form in enumerate(self.forms)
            if not form.is_blank and not form.cleaned_data.get("DELETE")
        ]

    def add_service_error(self, error: ApplicationError) -> bool:
        """Put the service's `rules.<i>.<field>` errors on the rows they are about (`i` counts the
        rows `rule_rows` sent) and `rules` above the table. True when every error found a place."""
        rows = [index for index, _ in self.rule_rows()]
        placed_all = True
        for key, messages in error.fields.items():
            parts = key.split(".")
            if parts == ["rules"]:
                self._non_form_errors = self.error_class([*self.non_form_errors(), *messages])
            elif parts[0] == "rules" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
                field = None if parts[2] == "non_field_errors" else parts[2]
                form = self.forms[rows[int(parts[1])]]
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
            else:
                placed_all = False
        return placed_all

    @classmethod
    def with_row_added(cls, data, *, prefix: str) -> BaseRuleFormSet:
        """The rows posted (minus those marked for removal) plus one empty row, unbound: no
        errors are shown for a form the person has not submitted yet."""
        posted = cls(data, prefix=prefix)
        rows = []
        for index in range(posted.total_form_count()):
            form_prefix = posted.add_prefix(index)
            if data.get(f"{form_prefix}-DELETE"):
                continue
            rows.append({k: data.get(f"{form_prefix}-{k}", "") for k in RULE_FIELDS})
        formset = cls(prefix=prefix, initial=rows)
        formset.extra = 1
        return formset


RuleFormSet = cast(
    type[BaseRuleFormSet], formset_factory(RuleForm, formset=BaseRuleFormSet, extra=1, can_delete=True)
)


class SignupForm(forms.Form):
    """Extra sign-up fields (allauth's ACCOUNT_SIGNUP_FORM_CLASS seam)."""

    project_name = forms.CharField(
        max_length=120,
        required=False,
        label="Organisation or project name",
        help_text="We create a project for you, and you become its owner.",
    )
    project = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = getattr(self, "request", None)
        if request is not None and request.GET.get("project"):
            self.fields["project"].initial = request.GET["project"]

    def signup(self, request, user) -> None:
        from accounts.flows.signup import signup_complete

        signup_complete(
            request=request,
            user=user,
            project_slug=self.cleaned_data.get("project") or request.GET.get("project"),
            project_name=self.cleaned_data.get("project_name", ""),
        )


class InviteForm(forms.Form):
    email = forms.EmailField(
        required=False, help_text="Leave empty for someone known only by an external ID."
    )
    external_id = forms.CharField(required=False, max_length=255, label="External ID")
    first_name = forms.CharField(required=False, max_length=150)
    last_name = forms.CharField(required=False, max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    access_policy = forms.ModelChoiceField(
        queryset=AccessPolicy.objects.none(), required=False, empty_label="— project default —"
    )
    access_parameters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="name=value, one per line or separated by ';'.",
    )
    profile = forms.CharField(
        required=False, max_length=100, label="FHIR profile", help_text="e.g. Practitioner/123"
    )
    send_email = forms.BooleanField(required=False, initial=True, label="Send the welcome email")
    upsert = forms.BooleanField(required=False, label="If already a member, update the membership instead")

    def __init__(self, *args, project: Project, may_grant_owner: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["access_policy"].queryset = AccessPolicy.objects.filter(project=project).order_by("name")
        _offer_roles(self.fields["role"], may_grant_owner=may_grant_owner)

    def clean_access_parameters(self) -> dict[str, str]:
        return access_parameters_parse(self.cleaned_data.get("access_parameters") or "")

    def clean(self):
        data = super().clean()
        if (
            not data.get("email")
            and not (data.get("external_id") or "").strip()
            and "email" not in self.errors
        ):
            self.add_error("email", "Give an email address or an external ID.")
        return data


class BulkInviteForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with a header row: email, external_id, first_name, last_name, role, access_policy, "
        "parameters (name=value;…), profile."
    )
    send_email = forms.BooleanField(required=False, initial=True, label="Send welcome emails")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 5 MB; split it.")
        return upload


class ProjectSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    display_name = forms.CharField(max_length=120, required=False, help_text="Shown on pages and in emails.")
    logo_url = forms.URLField(required=False, assume_scheme="https", label="Logo URL")
    support_email = forms.EmailField(required=False)
    from_email = forms.EmailField(required=False, label="From address for emails")
    brand_color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        required=False,
        label="Brand colour",
        help_text="Buttons and accents of the sign-in page and emails, such as #1f5fbf. Empty: the default.",
        error_messages={"invalid": "Use a colour such as #1f5fbf."},
        widget=forms.TextInput(attrs={"placeholder": "#rrggbb", "size": 8}),
    )
    allowed_sign_in_methods = forms.MultipleChoiceField(
        choices=SignInMethod.choices, widget=forms.CheckboxSelectMultiple, label="Sign-in methods"
    )
    mfa_required = forms.BooleanField(
        required=False,
        label="Require two-factor authentication",
        help_text="Members without an authenticator app or passkey set one up at their next sign-in; "
        "until then this project's apps get no tokens for them.",
    )
    default_role = forms.ChoiceField(
        choices=[("member", "Member"), ("admin", "Admin")],
        label="Default role",
        help_text="For people who join by signing up or through the identity provider.",
    )
    default_access_policy = forms.ModelChoiceField(
        queryset=AccessPolicy.objects.none(),
        required=False,
        empty_label="No default policy",
        help_text="Given to new members.",
    )
    allow_self_signup = forms.BooleanField(required=False, label="Anyone may sign up to this project")
    fhir_base_url = forms.CharField(
        max_length=500,
        required=False,
        label="FHIR base URL",
        help_text="SMART apps must send it as aud; access tokens carry it; fhirUser is built on it.",
    )
    session_idle_minutes = forms.IntegerField(
        required=False,
        min_value=5,
        max_value=7 * 24 * 60,
        label="Sign out after inactivity (minutes)",
        help_text="Empty: no project limit. Members of several projects get the strictest limit.",
    )
    session_max_hours = forms.IntegerField(
        required=False, min_value=1, max_value=90 * 24, label="Sign out after (hours), whatever the activity"
    )

    def __init__(self, *args, project: Project, may_change_sign_in_policy: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        policy_field = cast(forms.ModelChoiceField, self.fields["default_access_policy"])
        policy_field.queryset = AccessPolicy.objects.filter(project=project).order_by("name")
        if not may_change_sign_in_policy:
            # Shown, not offered: an admin sees the owners' sign-in policy but cannot post it
            # (disabled fields keep their initial value; the service refuses anyway).
            from accounts.services.projects import SIGN_IN_POLICY_SETTINGS

            for name in SIGN_IN_POLICY_SETTINGS:
                self.fields[name].disabled = True
                self.fields[name].help_text = "Only an owner can change this."


class ProjectCreateForm(forms.Form):
    name = forms.CharField(
        max_length=120, help_text="What members and emails call it; you can change it later."
    )
    slug = forms.SlugField(
        max_length=60,
        required=False,
        help_text="Its address in the portal (/portal/<slug>/). Empty: made from the name.",
    )


class MemberProfileForm(forms.Form):
    """An admin's edit of a member's name and email (parses; accounts.services.member_profile decides)."""

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(
        required=False,
        help_text="A new address must be confirmed by the person before apps get tokens for them.",
    )
