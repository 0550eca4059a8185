"""Email-first sign-in (home-realm discovery) at /accounts/login/, and My account → Sign-in methods.

Step one asks only for the email. A domain with a verified claim goes to its provider (with
`login_hint`); any other address gets the password step, whatever the address, so the answer
says nothing about which accounts exist. Both steps are one allauth LoginView (its rate limit
covers the lookup too) and work without JavaScript.
"""

from __future__ import annotations

from typing import cast

from allauth.account.views import LoginView
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from accounts.models import User, normalize_email
from accounts.selectors import sign_in_hint, sign_in_project
from audit.context import Actor
from federation.forms import EmailStepForm
from federation.selectors import identity_provider_for_email, sign_in_buttons
from federation.services import identity_list, identity_unlink, identity_unlink_problem
from identity import flash
from identity.errors import ApplicationError
from identity.portal import ConfirmActionMixin, Confirmation


class EmailFirstLoginView(LoginView):
    template_name = "account/login.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("step", "password" if "password" in self.request.POST else "email")
        context.setdefault("email", self.request.POST.get("login", ""))
        context.setdefault(
            "email_form", EmailStepForm(initial={"login": self.request.GET.get("login_hint", "")})
        )
        context["provider_buttons"] = sign_in_buttons(**sign_in_hint(self.request))
        context["sign_in_project"] = sign_in_project(self.request)
        return context

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if "password" in request.POST:
            # The password step: allauth's form (federation.forms.LoginForm) and flow.
            return super().post(request, *args, **kwargs)
        email_form = EmailStepForm(request.POST)
        if not email_form.is_valid():
            return self.render_to_response(self.get_context_data(email_form=email_form), status=400)
        email = normalize_email(email_form.cleaned_data["login"]) or ""
        provider = identity_provider_for_email(email)
        if provider is not None:
            upstream = get_social_adapter(request).get_provider(request, provider.provider_id)
            return upstream.redirect(
                request, "login", next_url=self.get_next_url(), auth_params={"login_hint": email}
            )
        form = self.get_form_class()(request=request, initial={"login": email})
        return self.render_to_response(self.get_context_data(form=form, step="password", email=email))

    def get_next_url(self) -> str | None:
        from allauth.account.utils import get_next_redirect_url

        return get_next_redirect_url(self.request, self.redirect_field_name)


class SignInMethodsView(LoginRequiredMixin, View):
    """My account → Sign-in methods: the password and every linked identity, each unlinkable
    while another way in remains."""

    template_name = "federation/sign_in_methods.html"

    def _context(self, request: HttpRequest, **extra) -> dict:
        user = cast(User, request.user)  # LoginRequiredMixin
        return {"identities": identity_list(user=user), "has_password": user.has_usable_password(), **extra}

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, self._context(request))

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            identity_unlink(
                user=request.user,
                identity_id=request.POST.get("identity_id"),
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            return render(
                request, self.template_name, self._context(request, error=error.message), status=error.status
            )
        flash.flash(request, flash.IDENTITY_UNLINKED)
        response = redirect("sign_in_methods")
        response.status_code = 303
        return response


class IdentityUnlinkView(ConfirmActionMixin, LoginRequiredMixin, View):
    """My account → Sign-in methods → Unlink: GET asks (which identity, what remains); POST unlinks."""

    def confirmation(self, *, identity_id: int) -> Confirmation:
        user = cast(User, self.request.user)
        identity = next((i for i in identity_list(user=user) if i.id == identity_id), None)
        if identity is None:
            raise Http404("No such linked identity.")
        accounts = list(SocialAccount.objects.filter(user=user))
        account = next(a for a in accounts if a.pk == identity_id)
        problem = identity_unlink_problem(account=account, accounts=accounts)
        return Confirmation(
            title=f"Unlink {identity.provider_name}?",
            affects=f"Your {identity.provider_name} identity {identity.email or identity.subject}"
            + (f" ({identity.project_name})." if identity.project_name else "."),
            consequences=[
                f"You can no longer sign in with {identity.provider_name}; your password and other "
                "linked identities keep working.",
                "Your sessions and the apps you use are not signed out.",
            ],
            undo=f"Signing in with {identity.provider_name} again links it again.",
            button="Unlink",
            cancel_url=reverse("sign_in_methods"),
            blockers=[problem] if problem else [],
        )

    def post(self, request: HttpRequest, identity_id: int) -> HttpResponse:
        try:
            identity_unlink(user=request.user, identity_id=identity_id, actor=Actor.from_request(request))
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            flash.flash(request, flash.IDENTITY_UNLINKED)
        response = redirect("sign_in_methods")
        response.status_code = 303
        return response
