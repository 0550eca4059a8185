"""Pages reached from emails, without being signed in: the set-password link."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts.flows.set_password import set_password_complete
from accounts.models import SecurityRequest
from accounts.password_forms import SetPasswordForm
from accounts.services import lockout
from accounts.services.security_links import LinkError, LinkProblem, security_link_check
from audit.context import Actor, client_ip
from identity.flash import PASSWORD_SET, flash

PROBLEM_STATUS = {
    LinkProblem.INVALID: 404,
    LinkProblem.EXPIRED: 410,
    LinkProblem.USED: 410,
    LinkProblem.REVOKED: 410,
    LinkProblem.SUPERSEDED: 410,
}


@method_decorator([never_cache, sensitive_post_parameters("new_password1", "new_password2")], name="dispatch")
class SetPasswordView(View):
    template_name = "accounts/set_password.html"

    def _problem(self, request: HttpRequest, error: LinkError) -> HttpResponse:
        return render(
            request,
            "accounts/set_password_problem.html",
            {"problem": error.problem, "kind": error.request.kind if error.request else None},
            status=PROBLEM_STATUS[error.problem],
        )

    def _throttled(self, request: HttpRequest, verdict: lockout.Verdict) -> HttpResponse:
        response = render(
            request,
            "accounts/set_password_problem.html",
            {"problem": "throttled", "message": lockout.refusal_message(verdict)},
            status=429,
        )
        response["Retry-After"] = str(verdict.retry_after)
        return response

    def _link_check(self, request: HttpRequest, request_id, secret: str) -> SecurityRequest | HttpResponse:
        """The link, or the page that refuses it. Wrong links count against the caller's IP and
        the link's id (brute-force protection, accounts/services/lockout.py)."""
        keys = {lockout.IP: client_ip(request), lockout.LINK: str(request_id)}
        verdict = lockout.attempt_check(scope=lockout.SET_PASSWORD, keys=keys)
        if not verdict.allowed:
            return self._throttled(request, verdict)
        try:
            return security_link_check(request_id=request_id, secret=secret)
        except LinkError as error:
            if error.problem == LinkProblem.INVALID:
                lockout.attempt_failed(
                    scope=lockout.SET_PASSWORD, keys=keys, actor=Actor.from_request(request)
                )
            return self._problem(request, error)

    def get(self, request: HttpRequest, request_id, secret: str) -> HttpResponse:
        security_request = self._link_check(request, request_id, secret)
        if isinstance(security_request, HttpResponse):
            return security_request
        form = SetPasswordForm(security_request.user)
        return render(request, self.template_name, {"form": form, "security_request": security_request})

    def post(self, request: HttpRequest, request_id, secret: str) -> HttpResponse:
        security_request = self._link_check(request, request_id, secret)
        if isinstance(security_request, HttpResponse):
            return security_request
        form = SetPasswordForm(security_request.user, request.POST)
        if not form.is_valid():  # refused, or only "Check strength" (the meter, nothing saved)
            return render(
                request,
                self.template_name,
                {"form": form, "security_request": security_request},
                status=200 if form.checking_strength else 400,
            )
        try:
            set_password_complete(
                request=request,
                security_request=security_request,
                password=form.cleaned_data["new_password1"],
            )
        except LinkError as error:  # a concurrent submission used the link first
            return self._problem(request, error)
        flash(request, PASSWORD_SET)
        # 303: never re-POST the password on a redirect (RFC 9700 §4.12).
        response = redirect("portal:home")
        response.status_code = 303
        return response


def brand_stylesheet(request: HttpRequest, slug: str) -> HttpResponse:
    """A project's accent colour for its sign-in pages, as a stylesheet (the CSP allows no inline
    styles): primary buttons in the brand colour with the text colour that contrasts most. Links
    keep the default colour, readable on white whatever the brand. An unknown slug gets the
    default (an empty sheet), so the address says nothing about which projects exist."""
    from accounts.models import Project

    project = Project.objects.filter(slug=slug).only("brand_color").first()
    css = ""
    if project is not None and project.brand_color:
        accent, on_accent = project.brand_colors
        css = (
            "button:not(.secondary):not(.link):not(.danger), .button:not(.secondary):not(.danger) "
            f"{{ background: {accent}; border-color: {accent}; color: {on_accent}; }}\n"
            f"button.secondary, .button.secondary {{ border-color: {accent}; }}\n"
        )
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response
