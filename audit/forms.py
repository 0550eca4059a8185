"""The audit log's filters: one form for the portal page, the API and the CSV export."""

from __future__ import annotations

from django import forms

from audit.models import AuditAction, AuditOutcome


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *AuditAction.choices])
    actor = forms.CharField(
        required=False, max_length=255, help_text="Who acted: part of an email or client id."
    )
    target = forms.CharField(
        required=False, max_length=255, help_text="Part of the target's name, or its id."
    )
    outcome = forms.ChoiceField(required=False, choices=[("", "Any outcome"), *AuditOutcome.choices])
    since = forms.DateTimeField(required=False, help_text="From this moment (ISO 8601, UTC if no offset).")
    until = forms.DateTimeField(required=False, help_text="Before this moment.")

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "Must be after since.")
        return cleaned

    def filters(self) -> dict:
        """The valid filters as keyword arguments of `audit.selectors.audit_event_list`."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            name: data.get(name) or None
            for name in ("action", "actor", "target", "outcome", "since", "until")
        }
