"""The audit log as a CSV download (the API's export and the portal's "Export CSV")."""

from __future__ import annotations

from django.http import StreamingHttpResponse

from audit.selectors import audit_events_csv


def audit_csv_response(events, *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(audit_events_csv(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
