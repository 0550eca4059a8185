"""Portal forms: they parse and validate input; services do the work."""

from __future__ import annotations

from django import forms
from django.forms import formset_factory

from accounts.models import RESOURCE_TYPE_RE, AccessPolicy, Project, Role, validate_interactions


def parse_parameters(text: str) -> dict[str, str]:
    """Parse `name=value` lines (blank lines ignored) into a dict."""
    result: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise forms.ValidationError(f"Line {number}: write name=value.", code="parameter_syntax")
        result[name.strip().lstrip("%")] = value.strip()
    return result


def format_parameters(parameters: dict[str, str]) -> str:
    return "\n".join(f"{name}={value}" for name, value in sorted((parameters or {}).items()))


class MembershipFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={"type": "search"}))
    role = forms.ChoiceField(required=False, choices=[("", "Any role"), *Role.choices])
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), ("active", "Active"), ("inactive", "Deactivated")]
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
        help_text="One name=value per line; fills %name placeholders in the policy's criteria.",
    )
    external_id = forms.CharField(required=False, max_length=255, label="External ID")
    profile = forms.CharField(
        required=False, max_length=100, label="FHIR profile", help_text="A reference such as Practitioner/123."
    )

    def __init__(self, *args, project: Project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["access_policy"].queryset = AccessPolicy.objects.filter(project=project).order_by("name")

    def clean_access_parameters(self) -> dict[str, str]:
        return parse_parameters(self.cleaned_data.get("access_parameters") or "")


class AccessPolicyForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RuleForm(forms.Form):
    resource_type = forms.CharField(
        max_length=64, required=False, label="Resource type", help_text="e.g. Patient, Observation or *"
    )
    interactions = forms.CharField(max_length=5, required=False, help_text="letters of cruds, e.g. rs")
    criteria = forms.CharField(max_length=500, required=False, help_text="e.g. Patient?organization=%org")

    def clean(self):
        data = super().clean()
        resource_type = (data.get("resource_type") or "").strip()
        interactions = (data.get("interactions") or "").strip()
        if not resource_type and not interactions and not data.get("criteria"):
            return data  # an empty row is ignored
        if not RESOURCE_TYPE_RE.match(resource_type):
            self.add_error("resource_type", "Use a FHIR resource type such as Patient, or *.")
        try:
            validate_interactions(interactions)
        except forms.ValidationError as exc:
            self.add_error("interactions", exc)
        return data

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any((data.get(k) or "").strip() for k in ("resource_type", "interactions", "criteria"))


RuleFormSet = formset_factory(RuleForm, extra=3, can_delete=True)
