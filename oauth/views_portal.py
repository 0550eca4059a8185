"""Client management pages of the project portal (routed by oauth/portal_urls.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from identity import flash
from identity.errors import ApplicationError
from identity.portal import (
    ConfirmActionMixin,
    Confirmation,
    OverviewItem,
    OverviewPanel,
    ProjectAdminView,
    form_add_service_error,
    paginate,
    query_without_page,
    shown_once_pop,
    shown_once_put,
)
from oauth import selectors, services
from oauth.app_settings import app_settings
from oauth.constants import GrantType
from oauth.forms import ClientForm, client_initial


def _input(data: dict) -> services.ClientInput:
    return services.ClientInput(
        name=data["name"],
        description=data.get("description", ""),
        client_type=data["client_type"],
        grant_types=data["grant_types"],
        redirect_uris=data["redirect_uris"],
        scopes=data["scopes"],
        access_token_lifetime=data.get("access_token_lifetime"),
        refresh_token_lifetime=data.get("refresh_token_lifetime"),
        skip_consent=data.get("skip_consent", False),
        role=data.get("role", ""),
        access_policy=data.get("access_policy"),
        algorithm=data.get("algorithm", "RS256"),
        access_token_algorithm=data.get("access_token_algorithm", "RS256"),
        token_endpoint_auth_method=data.get("token_endpoint_auth_method", ""),
        jwks_uri=data.get("jwks_uri", ""),
        jwks=data.get("jwks") or None,
        post_logout_redirect_uris=data.get("post_logout_redirect_uris", []),
        backchannel_logout_uri=data.get("backchannel_logout_uri", ""),
        backchannel_logout_session_required=data.get("backchannel_logout_session_required", False),
        revoke_tokens_on_logout=data.get("revoke_tokens_on_logout", False),
    )


def _secret_key(client) -> str:
    return f"oauth.client_secret:{client.pk}"


def _show_secret_once(request: HttpRequest, project, client, secret: str, title: str) -> HttpResponse:
    """Post/redirect/get: the secret waits in the session for the page the POST redirects to,
    which shows it once. A reload of that page never creates or rotates anything again."""
    shown_once_put(request, _secret_key(client), {"secret": secret, "title": title})
    response = redirect("portal:client_secret", project_slug=project.slug, client_pk=client.pk)
    response.status_code = 303
    return response


class ClientListView(ProjectAdminView):
    section = "clients"

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        query, status = request.GET.get("q", ""), request.GET.get("status", "")
        page = paginate(request, selectors.client_list(project=self.project, query=query, status=status))
        return self.render(
            request,
            "portal/clients/list.html",
            {"page": page, "q": query, "status": status, "query_string": query_without_page(request)},
        )


class ClientCreateView(ProjectAdminView):
    section = "clients"

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = ClientForm(
            project=self.project,
            initial={
                "client_type": "confidential",
                "grant_types": [GrantType.AUTHORIZATION_CODE],
                "scopes": ["openid"],
            },
        )
        return self.render(request, "portal/clients/form.html", {"form": form})

    def post(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = ClientForm(request.POST, project=self.project)
        if form.is_valid():
            try:
                issued = services.client_create(
                    project=self.project, actor=self.actor, data=_input(form.cleaned_data)
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                if issued.client_secret:
                    return _show_secret_once(
                        request, self.project, issued.client, issued.client_secret, "Client created"
                    )
                keys = issued.client.uses_private_key_jwt
                done = flash.CLIENT_CREATED_KEYS if keys else flash.CLIENT_CREATED_PUBLIC
                flash.flash(request, done, name=issued.client.name)
                return redirect("portal:client", project_slug=self.project.slug, client_pk=issued.client.pk)
        return self.render(request, "portal/clients/form.html", {"form": form}, status=400)


class ClientSecretView(ProjectAdminView):
    """GET: the secret a create or rotate just issued, shown once (taken out of the session)."""

    section = "clients"

    def get(self, request: HttpRequest, project_slug: str, client_pk) -> HttpResponse:
        client = selectors.client_get(project=self.project, client_pk=client_pk)
        shown = shown_once_pop(request, _secret_key(client))
        if shown is None:
            flash.flash(request, flash.CLIENT_SECRET_SHOWN, name=client.name)
            return redirect("portal:client", project_slug=self.project.slug, client_pk=client.pk)
        response = self.render(
            request,
            "portal/clients/secret.html",
            {"client": client, "secret": shown["secret"], "title": shown["title"]},
        )
        response["Cache-Control"] = "no-store"
        return response


class ClientDetailView(ProjectAdminView):
    section = "clients"

    def _context(self, client, form):
        return {
            "client": client,
            "form": form,
            "counts": selectors.client_token_counts(client=client),
            "logout_notices": selectors.client_logout_notices(client=client),
        }

    def get(self, request: HttpRequest, project_slug: str, client_pk) -> HttpResponse:
        client = selectors.client_get(project=self.project, client_pk=client_pk)
        form = ClientForm(project=self.project, editing=True, initial=client_initial(client))
        return self.render(request, "portal/clients/detail.html", self._context(client, form))

    def post(self, request: HttpRequest, project_slug: str, client_pk) -> HttpResponse:
        client = selectors.client_get(project=self.project, client_pk=client_pk)
        form = ClientForm(request.POST, project=self.project, editing=True, initial=client_initial(client))
        if form.is_valid():
            try:
                services.client_update(client=client, actor=self.actor, data=_input(form.cleaned_data))
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.CLIENT_SAVED, name=client.name)
                return redirect("portal:client", project_slug=self.project.slug, client_pk=client.pk)
        return self.render(request, "portal/clients/detail.html", self._context(client, form), status=400)


class ClientActionView(ConfirmActionMixin, ProjectAdminView):
    """Rotate the secret, disable or delete a client (GET asks first, POST does it); enable (POST)."""

    section = "clients"
    action = "rotate"

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if self.action == "enable":
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().get(request, *args, **kwargs)

    def confirmation(self, *, client_pk) -> Confirmation:
        client = selectors.client_get(project=self.project, client_pk=client_pk)
        counts = selectors.client_token_counts(client=client)
        tokens = f"{counts['access_tokens']} access and {counts['refresh_tokens']} refresh token(s)"
        back = reverse("portal:client", kwargs={"project_slug": self.project.slug, "client_pk": client.pk})
        affects = f"{client.name} (client ID {client.client_id}) and everyone who signs in to it."
        if self.action == "rotate":
            grace = app_settings.SECRET_ROTATION_GRACE
            return Confirmation(
                title=f"Rotate the secret of {client.name}?",
                affects=f"{client.name} (client ID {client.client_id}).",
                consequences=[
                    "A new secret is made and shown to you once; copy it into the app's configuration.",
                    f"The current secret keeps working for {grace // 3600} hour(s), then stops."
                    if grace
                    else "The current secret stops working at once.",
                    "Tokens already issued keep working.",
                ],
                undo="The old secret cannot be brought back.",
                button="Rotate secret",
                cancel_url=back,
            )
        if self.action == "disable":
            return Confirmation(
                title=f"Disable {client.name}?",
                affects=affects,
                consequences=[
                    f"Its {tokens} are revoked at once; nobody can sign in to it or get tokens.",
                    "Its settings and secret are kept.",
                ],
                undo="You can enable it again; people then sign in again.",
                button="Disable",
                cancel_url=back,
            )
        return Confirmation(
            title=f"Delete {client.name}?",
            affects=affects,
            consequences=[
                f"Its {tokens} are revoked at once and its consents are deleted.",
                "Apps using its client ID and secret stop working.",
            ],
            undo="This cannot be undone; to stop it for a while, disable it instead.",
            button="Delete client",
            cancel_url=back,
        )

    def post(self, request: HttpRequest, project_slug: str, client_pk) -> HttpResponse:
        client = selectors.client_get(project=self.project, client_pk=client_pk)
        try:
            if self.action == "rotate":
                secret = services.client_rotate_secret(client=client, actor=self.actor)
                return _show_secret_once(request, self.project, client, secret, "New client secret")
            if self.action == "delete":
                services.client_delete(client=client, actor=self.actor)
                flash.flash(request, flash.CLIENT_DELETED, name=client.name)
                return redirect("portal:clients", project_slug=self.project.slug)
            services.client_set_active(client=client, actor=self.actor, active=self.action == "enable")
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            done = flash.CLIENT_ENABLED if self.action == "enable" else flash.CLIENT_DISABLED
            flash.flash(request, done, name=client.name)
        return redirect("portal:client", project_slug=self.project.slug, client_pk=client.pk)


def client_overview(*, project) -> OverviewPanel:
    """The clients box of the project's overview (AppConfig.portal_overview): one query."""
    counts = selectors.client_counts(project=project)
    clients = reverse("portal:clients", kwargs={"project_slug": project.slug})
    return OverviewPanel(
        key="clients",
        title="Clients",
        items=[
            OverviewItem("Active", counts["active"], f"{clients}?status=active"),
            OverviewItem("Disabled", counts["disabled"], f"{clients}?status=disabled"),
        ],
        link_text=f"All {counts['total']} client(s)",
        link_url=clients,
        order=50,
    )
