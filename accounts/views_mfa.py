"""Two-factor enrolment a project requires: the page a member is sent to until they have set
up an authenticator app or a passkey (accounts/middleware.py sends them; allauth's mfa pages do
the enrolling), and the way back to where they were going."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from accounts.models import Project, User
from accounts.selectors import user_factor_count

# Session keys: set at sign-in when a project requires a factor the user lacks (cleared when one
# is added), and where to go once it is set up.
ENROLMENT_REQUIRED_KEY = "_accounts_mfa_enrolment_required"
ENROLMENT_NEXT_KEY = "_accounts_mfa_enrolment_next"


def _safe_next(request: HttpRequest, candidate: str | None = None) -> str:
    """`candidate` (default: the `next` parameter) if it is a path on this site, else ""."""
    if candidate is None:
        candidate = request.GET.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if allowed and candidate.startswith("/") else ""


class EnrolmentRequiredView(LoginRequiredMixin, View):
    """Which project asks for a second factor, and the two ways to set one up."""

    template_name = "accounts/mfa_required.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        user = cast(User, request.user)
        next_url = _safe_next(request)
        if next_url:
            request.session[ENROLMENT_NEXT_KEY] = next_url
        if user_factor_count(user=user):
            return redirect("mfa_enrolment_continue")
        projects = Project.objects.filter(
            memberships__user=user, memberships__is_active=True, mfa_required=True
        ).order_by("name")
        return render(request, self.template_name, {"projects": projects, "next_url": next_url})


class EnrolmentContinueView(LoginRequiredMixin, View):
    """Back to where the person was going before enrolment (kept in the session), else home."""

    def get(self, request: HttpRequest) -> HttpResponse:
        # Checked again on the way out: only a path on this site is ever followed.
        next_url = _safe_next(request, str(request.session.pop(ENROLMENT_NEXT_KEY, "") or ""))
        return redirect(next_url or "portal:home")
