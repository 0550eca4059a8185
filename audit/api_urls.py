"""Routes of the audit REST API (mounted under /api/v1/ by identity/api_urls.py)."""

from django.urls import path

from audit import api

project = "projects/<uuid:project_id>"

urlpatterns = [
    path(f"{project}/audit-events/", api.AuditEventListApi.as_view(), name="api-audit-events"),
    path(
        f"{project}/audit-events/export/", api.AuditEventExportApi.as_view(), name="api-audit-events-export"
    ),
]
