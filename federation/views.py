"""Identity-provider pages of the project portal (routed by federation/portal_urls.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from federation import selectors, services
from federation.forms import DomainClaimForm, IdentityProviderForm, identity_provider_initial
from federation.models import IdentityProvider, ProviderKind
from identity import flash
from identity.errors import ApplicationError
from identity.portal import (
    ConfirmActionMixin,
    Confirmation,
    ProjectAdminView,
    form_add_service_error,
    paginate,
    query_without_page,
)


def _input(data: dict) -> services.IdentityProviderInput:
    return services.IdentityProviderInput(
        kind=data["kind"],
        name=data["name"],
        issuer=data.get("issuer", ""),
        org_domain=data.get("org_domain", ""),
        aws_region=data.get("aws_region", ""),
        user_pool_id=data.get("user_pool_id", ""),
        client_id=data["client_id"],
        client_secret=data.get("client_secret") or None,
        scopes=data["scopes"],
        pkce=data.get("pkce", False),
        match_by=data["match_by"],
        jit_provisioning=data.get("jit_provisioning", False),
        required=data.get("required", False),
        is_active=data.get("is_active", False),
    )


class IdentityProviderBaseView(ProjectAdminView):
    section = "idps"

    def idp(self, idp_id) -> IdentityProvider:
        return selectors.identity_provider_get(project=self.project, idp_id=idp_id)

    def back(self, idp: IdentityProvider) -> HttpResponse:
        return redirect("portal:idp", project_slug=self.project.slug, idp_id=idp.pk)

    def detail(self, request, idp, *, form=None, domain_form=None, report=None, status=200) -> HttpResponse:
        context = {
            "idp": idp,
            "callback_url": selectors.identity_provider_callback_url(idp),
            "domains": list(idp.domains.order_by("domain")),
            "form": form or IdentityProviderForm(editing=idp, initial=identity_provider_initial(idp)),
            "domain_form": domain_form or DomainClaimForm(),
            "report": report,
        }
        return self.render(request, "portal/idps/detail.html", context, status=status)


class IdentityProviderListView(IdentityProviderBaseView):
    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        query, kind, status = (
            request.GET.get("q", ""),
            request.GET.get("kind", ""),
            request.GET.get("status", ""),
        )
        page = paginate(
            request,
            selectors.identity_provider_list(project=self.project, query=query, kind=kind, status=status),
        )
        return self.render(
            request,
            "portal/idps/list.html",
            {
                "page": page,
                "q": query,
                "kind": kind,
                "status": status,
                "kinds": ProviderKind.choices,
                "query_string": query_without_page(request),
            },
        )


class IdentityProviderCreateView(IdentityProviderBaseView):
    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = IdentityProviderForm(initial={"kind": request.GET.get("kind", ProviderKind.OIDC)})
        return self.render(request, "portal/idps/form.html", {"form": form})

    def post(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = IdentityProviderForm(request.POST)
        if form.is_valid():
            try:
                idp = services.identity_provider_create(
                    project=self.project, actor=self.actor, data=_input(form.cleaned_data)
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.IDP_CREATED, name=idp.name)
                return self.back(idp)
        return self.render(request, "portal/idps/form.html", {"form": form}, status=400)


class IdentityProviderDetailView(IdentityProviderBaseView):
    """GET shows the provider, its callback URL and domains; POST saves the settings form."""

    def get(self, request: HttpRequest, project_slug: str, idp_id) -> HttpResponse:
        return self.detail(request, self.idp(idp_id))

    def post(self, request: HttpRequest, project_slug: str, idp_id) -> HttpResponse:
        idp = self.idp(idp_id)
        form = IdentityProviderForm(request.POST, editing=idp, initial=identity_provider_initial(idp))
        if form.is_valid():
            try:
                services.identity_provider_update(
                    identity_provider=idp, actor=self.actor, data=_input(form.cleaned_data)
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.IDP_SAVED, name=idp.name)
                return self.back(idp)
        idp.refresh_from_db()
        return self.detail(request, idp, form=form, status=400)


class IdentityProviderTestView(IdentityProviderBaseView):
    """POST-only: run the connection test and show its answer on the detail page."""

    def post(self, request: HttpRequest, project_slug: str, idp_id) -> HttpResponse:
        idp = self.idp(idp_id)
        return self.detail(request, idp, report=services.identity_provider_test(identity_provider=idp))


class IdentityProviderDeleteView(ConfirmActionMixin, IdentityProviderBaseView):
    """GET asks for confirmation (naming the domains that stop routing); POST deletes."""

    def confirmation(self, *, idp_id) -> Confirmation:
        idp = self.idp(idp_id)
        domains = [claim.domain for claim in idp.domains.order_by("domain")]
        consequences = [f"People can no longer sign in through {idp.name}; their accounts stay."]
        if domains:
            consequences.append(f"These domains stop routing to it: {', '.join(domains)}.")
        return Confirmation(
            title=f"Delete “{idp.name}”?",
            affects=f"Everyone who signs in to {self.project.brand_name} through {idp.name}.",
            consequences=consequences,
            undo="Deleting it cannot be undone; to stop it for a while, untick Active instead.",
            button="Delete identity provider",
            cancel_url=reverse("portal:idp", kwargs={"project_slug": self.project.slug, "idp_id": idp.pk}),
        )

    def post(self, request: HttpRequest, project_slug: str, idp_id) -> HttpResponse:
        idp = self.idp(idp_id)
        services.identity_provider_delete(identity_provider=idp, actor=self.actor)
        flash.flash(request, flash.IDP_DELETED, name=idp.name)
        return redirect("portal:idps", project_slug=self.project.slug)


class DomainClaimCreateView(IdentityProviderBaseView):
    def post(self, request: HttpRequest, project_slug: str, idp_id) -> HttpResponse:
        idp = self.idp(idp_id)
        form = DomainClaimForm(request.POST)
        if form.is_valid():
            try:
                claim = services.domain_claim_create(
                    identity_provider=idp, actor=self.actor, domain=form.cleaned_data["domain"]
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.DOMAIN_CLAIMED, name=claim.domain)
                return self.back(idp)
        return self.detail(request, idp, domain_form=form, status=400)


class DomainClaimActionView(ConfirmActionMixin, IdentityProviderBaseView):
    """Verify a claim by DNS (POST), or remove it (GET asks first, POST removes)."""

    action = "verify"

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if self.action != "delete":
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().get(request, *args, **kwargs)

    def confirmation(self, *, idp_id, domain_id) -> Confirmation:
        idp = self.idp(idp_id)
        claim = selectors.domain_claim_get(identity_provider=idp, domain_id=domain_id)
        return Confirmation(
            title=f"Remove {claim.domain} from “{idp.name}”?",
            affects=f"People with an address at {claim.domain}.",
            consequences=[
                f"Their sign-in no longer routes to {idp.name}; they are asked for a password instead.",
                f"{idp.name} no longer vouches for addresses at {claim.domain}.",
            ],
            undo="To route it again, claim the domain again and prove it by DNS.",
            button="Remove domain",
            cancel_url=reverse("portal:idp", kwargs={"project_slug": self.project.slug, "idp_id": idp.pk}),
        )

    def post(self, request: HttpRequest, project_slug: str, idp_id, domain_id) -> HttpResponse:
        idp = self.idp(idp_id)
        claim = selectors.domain_claim_get(identity_provider=idp, domain_id=domain_id)
        try:
            if self.action == "delete":
                services.domain_claim_delete(claim=claim, actor=self.actor)
                flash.flash(request, flash.DOMAIN_CLAIM_REMOVED, name=claim.domain)
            else:
                services.domain_claim_verify_by_dns(claim=claim, actor=self.actor)
                flash.flash(request, flash.DOMAIN_VERIFIED, name=claim.domain)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        return self.back(idp)
