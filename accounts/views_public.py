"""Pages reached from emails, without being signed in: the set-password link."""

from __future__ import annotations

from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts.flows.set_password import set_password_complete
from accounts.services.security_links import LinkError, LinkProblem, security_link_check
from identity.flash import PASSWORD_SET, flash

PROBLEM_STATUS = {
    LinkProblem.INVALID: 404,
    LinkProblem.EXPIRED: 410,
    LinkProblem.USED: 410,
    LinkProblem.REVOKED: 410,
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

    def get(self, request: HttpRequest, request_id, secret: str) -> HttpResponse:
        try:
            security_request = security_link_check(request_id=request_id, secret=secret)
        except LinkError as error:
            return self._problem(request, error)
        form = SetPasswordForm(security_request.user)
        return render(request, self.template_name, {"form": form, "security_request": security_request})

    def post(self, request: HttpRequest, request_id, secret: str) -> HttpResponse:
        try:
            security_request = security_link_check(request_id=request_id, secret=secret)
        except LinkError as error:
            return self._problem(request, error)
        form = SetPasswordForm(security_request.user, request.POST)
        if not form.is_valid():
            return render(
                request, self.template_name, {"form": form, "security_request": security_request}, status=400
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
