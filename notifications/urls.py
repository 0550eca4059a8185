"""anymail's ESP webhooks (tracking and inbound), mounted under /anymail/ by identity/urls.py.

anymail mounts a webhook for every email provider it knows. Those of a provider this deployment
does not use answered anyone's request with a 500: no signing key configured
(`AnymailConfigurationError`), or a body that is not the provider's JSON. Here a provider's
webhooks answer only when the deployment uses it (`EMAIL_BACKEND` is its anymail backend, or
`ANYMAIL` has a setting of its, e.g. `MAILGUN_WEBHOOK_SIGNING_KEY`); otherwise, and when the
provider is not fully configured, 404 as for an address that does not exist. A body the
provider's view cannot parse is a 400. The view itself is anymail's, unchanged (its signature and
basic-auth checks, its CSRF exemption).
"""

from __future__ import annotations

import functools
import json
import logging

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError
from django.conf import settings
from django.http import Http404, HttpResponseBadRequest
from django.urls import URLPattern

logger = logging.getLogger(__name__)

app_name = anymail_urls.app_name

_SUFFIXES = ("_inbound_webhook", "_tracking_webhook", "_webhook")


def _esp_of(url_name: str) -> str:
    """`mailgun_tracking_webhook` → `mailgun` (anymail's module and settings prefix)."""
    for suffix in _SUFFIXES:
        if url_name.endswith(suffix):
            return url_name.removesuffix(suffix)
    return url_name


def esp_in_use(esp: str) -> bool:
    backend = str(getattr(settings, "EMAIL_BACKEND", ""))
    configured = getattr(settings, "ANYMAIL", None) or {}
    return backend.startswith(f"anymail.backends.{esp}.") or any(
        str(key).upper().startswith(f"{esp.upper()}_") for key in configured
    )


def _only_when_in_use(view, esp: str):
    @functools.wraps(view)  # keeps view_class and csrf_exempt
    def answer(request, *args, **kwargs):
        if not esp_in_use(esp):
            raise Http404("No such webhook.")
        try:
            return view(request, *args, **kwargs)
        except AnymailConfigurationError as exc:
            logger.warning("ESP webhook %s is not fully configured: %s", request.path, exc)
            raise Http404("No such webhook.") from None
        except json.JSONDecodeError:
            return HttpResponseBadRequest("The body is not the provider's JSON.")

    return answer


urlpatterns = [
    URLPattern(
        entry.pattern,
        _only_when_in_use(entry.callback, _esp_of(entry.name or "")),
        entry.default_args,
        entry.name,
    )
    for entry in anymail_urls.urlpatterns
    if isinstance(entry, URLPattern)
]
