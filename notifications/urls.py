"""anymail's ESP webhooks (tracking and inbound), mounted under /anymail/ by identity/urls.py.

anymail mounts a webhook for every email provider it knows; the view of a provider this
deployment has not configured (no signing key or secret) raises `AnymailConfigurationError` on
every request, which was a 500 that anyone could cause. Here such a request is a 404, as for an
address that does not exist; the configured provider's webhook is anymail's view unchanged
(its own signature and basic-auth checks, its CSRF exemption).
"""

from __future__ import annotations

import functools
import logging

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError
from django.http import Http404
from django.urls import URLPattern

logger = logging.getLogger(__name__)

app_name = anymail_urls.app_name


def _unconfigured_is_not_found(view):
    @functools.wraps(view)  # keeps view_class and csrf_exempt
    def answer(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except AnymailConfigurationError as exc:
            logger.info("ESP webhook %s is not configured here: %s", request.path, exc)
            raise Http404("No such webhook.") from None

    return answer


urlpatterns = [
    URLPattern(entry.pattern, _unconfigured_is_not_found(entry.callback), entry.default_args, entry.name)
    for entry in anymail_urls.urlpatterns
    if isinstance(entry, URLPattern)
]
