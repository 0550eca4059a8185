"""The audit log's filters: one form for the portal page, the API and the CSV export."""

from __future__ import annotations

from datetime import UTC, datetime

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

    def _utc(self, name: str) -> datetime | None:
        """The moment in UTC: Python reads offsets up to ±24 h, PostgreSQL only up to ±15:59, and
        a moment near year 1 or 9999 may not exist in UTC at all; both are a field error, not a 500."""
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Out of range.", code="invalid") from None

    def clean_since(self) -> datetime | None:
        return self._utc("since")

    def clean_until(self) -> datetime | None:
        return self._utc("until")

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
