"""Signals of the audit app (docs/ARCHITECTURE.md: signals only tell other apps that something finished)."""

from django.dispatch import Signal

# Sent by `audit_record_many` after it wrote several events in one statement (bulk_create sends no
# `post_save`): `events` is the list of new AuditEvent rows, in the caller's transaction. Whoever
# listens to `post_save` of AuditEvent (the webhooks' fan-out) listens to this too.
events_recorded = Signal()
