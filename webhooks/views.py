"""Inbound webhook pages of the project portal (routed by webhooks/portal_urls.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from identity import flash
from identity.errors import ApplicationError
from identity.portal import (
    ConfirmActionMixin,
    Confirmation,
    ProjectAdminView,
    confirmation_page,
    form_add_service_error,
    paginate,
    query_without_page,
    shown_once_pop,
    shown_once_put,
)
from webhooks import selectors, services
from webhooks.constants import WebhookScheme
from webhooks.forms import EndpointForm, RotateSecretForm, endpoint_initial
from webhooks.handlers import handler_get
from webhooks.models import InboundEventStatus, WebhookEndpoint


def _handler_label(name: str) -> str:
    try:
        return str(handler_get(name).label)
    except LookupError:
        return f"{name} (not installed)"


class WebhooksBaseView(ProjectAdminView):
    section = "webhooks"

    def endpoint(self, endpoint_id) -> WebhookEndpoint:
        return selectors.endpoint_get(project=self.project, endpoint_id=endpoint_id)

    def back(self, endpoint: WebhookEndpoint) -> HttpResponse:
        return redirect("portal:webhook", project_slug=self.project.slug, endpoint_id=endpoint.pk)

    def show_once(
        self, request, endpoint, *, url: str | None, secret: str | None, title: str
    ) -> HttpResponse:
        """Keep a new endpoint's URL and/or generated secret in the session and redirect to the
        page that shows them once (post/redirect/get: a reload repeats nothing, shows nothing)."""
        shown_once_put(request, _secret_key(endpoint), {"url": url, "secret": secret, "title": title})
        response = redirect("portal:webhook_secret", project_slug=self.project.slug, endpoint_id=endpoint.pk)
        response.status_code = 303
        return response

    def detail(self, request, endpoint, *, form=None, status=200) -> HttpResponse:
        status_filter = request.GET.get("status", "")
        page = paginate(request, selectors.event_list(endpoint=endpoint, status=status_filter))
        context = {
            "endpoint": endpoint,
            "url_prefix": f"{services.endpoint_url(endpoint.token_prefix)[:-1]}…",
            "handler_label": _handler_label(endpoint.handler),
            "form": form
            or EndpointForm(project=self.project, editing=endpoint, initial=endpoint_initial(endpoint)),
            "rotatable": endpoint.scheme != WebhookScheme.BASIC,
            "page": page,
            "status": status_filter,
            "statuses": InboundEventStatus.choices,
            "query_string": query_without_page(request),
        }
        return self.render(request, "portal/webhooks/detail.html", context, status=status)


class EndpointListView(WebhooksBaseView):
    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        query = request.GET.get("q", "")
        page = paginate(request, selectors.endpoint_list(project=self.project, query=query))
        return self.render(
            request,
            "portal/webhooks/list.html",
            {"page": page, "q": query, "query_string": query_without_page(request)},
        )


class EndpointCreateView(WebhooksBaseView):
    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = EndpointForm(
            project=self.project, initial={"scheme": WebhookScheme.STANDARD, "handler": "generic"}
        )
        return self.render(request, "portal/webhooks/form.html", {"form": form})

    def post(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = EndpointForm(request.POST, project=self.project)
        if form.is_valid():
            data = form.cleaned_data
            try:
                issued = services.endpoint_create(
                    project=self.project,
                    actor=self.actor,
                    name=data["name"],
                    scheme=data["scheme"],
                    handler=data["handler"],
                    client_id=data.get("client_id") or None,
                    secret=data.get("secret") or None,
                    is_active=data.get("is_active", False),
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                return self.show_once(
                    request,
                    issued.endpoint,
                    url=issued.url,
                    secret=issued.secret,
                    title="Webhook endpoint created",
                )
        return self.render(request, "portal/webhooks/form.html", {"form": form}, status=400)


def _secret_key(endpoint) -> str:
    return f"webhook-endpoint-secret:{endpoint.pk}"


class EndpointSecretView(WebhooksBaseView):
    """GET: what `show_once` kept, shown once (taken out of the session)."""

    def get(self, request: HttpRequest, project_slug: str, endpoint_id) -> HttpResponse:
        endpoint = self.endpoint(endpoint_id)
        shown = shown_once_pop(request, _secret_key(endpoint))
        if shown is None:
            flash.flash(request, flash.WEBHOOK_SECRET_SHOWN, name=endpoint.name)
            return self.back(endpoint)
        response = self.render(request, "portal/webhooks/secret.html", {"endpoint": endpoint, **shown})
        response["Cache-Control"] = "no-store"
        return response


class EndpointDetailView(WebhooksBaseView):
    """GET shows the endpoint and its recent events; POST saves the settings form."""

    def get(self, request: HttpRequest, project_slug: str, endpoint_id) -> HttpResponse:
        return self.detail(request, self.endpoint(endpoint_id))

    def post(self, request: HttpRequest, project_slug: str, endpoint_id) -> HttpResponse:
        endpoint = self.endpoint(endpoint_id)
        form = EndpointForm(
            request.POST, project=self.project, editing=endpoint, initial=endpoint_initial(endpoint)
        )
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.endpoint_update(
                    endpoint=endpoint,
                    actor=self.actor,
                    name=data["name"],
                    handler=data["handler"],
                    client_id=data.get("client_id") or None,
                    secret=data.get("secret") or None,
                    is_active=data.get("is_active", False),
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                flash.flash(request, flash.WEBHOOK_ENDPOINT_SAVED, name=data["name"])
                return self.back(endpoint)
        return self.detail(request, self.endpoint(endpoint_id), form=form, status=400)


class EndpointRotateSecretView(ConfirmActionMixin, WebhooksBaseView):
    """GET asks (with the optional secret to set); POST makes a new secret (shown once when
    generated); the previous one works for 24 hours."""

    def confirmation(self, *, endpoint_id, form: RotateSecretForm | None = None) -> Confirmation:
        endpoint = self.endpoint(endpoint_id)
        return Confirmation(
            title=f"Rotate the secret of “{endpoint.name}”?",
            affects=f"The sender that posts to “{endpoint.name}” must be given the new secret.",
            consequences=[
                "Requests signed with the new secret are accepted from now on.",
                "The current secret keeps working for 24 hours, so the sender can switch without "
                "losing events; then it stops.",
                "A generated secret is shown to you once.",
            ],
            undo="The old secret cannot be brought back after those 24 hours.",
            button="Rotate secret",
            cancel_url=reverse(
                "portal:webhook", kwargs={"project_slug": self.project.slug, "endpoint_id": endpoint.pk}
            ),
            form=form or RotateSecretForm(),
            blockers=[]
            if endpoint.scheme != WebhookScheme.BASIC
            else ["A basic endpoint uses its OAuth client's secret: rotate the client's secret instead."],
        )

    def post(self, request: HttpRequest, project_slug: str, endpoint_id) -> HttpResponse:
        endpoint = self.endpoint(endpoint_id)
        form = RotateSecretForm(request.POST)
        form.is_valid()  # a single optional text field: always valid
        try:
            secret = services.endpoint_rotate_secret(
                endpoint=endpoint, actor=self.actor, secret=form.cleaned_data.get("secret") or None
            )
        except ApplicationError as error:
            form_add_service_error(form, error)
            confirmation = self.confirmation(endpoint_id=endpoint_id, form=form)
            return confirmation_page(request, confirmation, view=self, status=400)
        endpoint.refresh_from_db()
        if secret:
            return self.show_once(request, endpoint, url=None, secret=secret, title="New webhook secret")
        flash.flash(request, flash.WEBHOOK_SECRET_ROTATED, name=endpoint.name)
        return self.back(endpoint)


class EndpointDeleteView(ConfirmActionMixin, WebhooksBaseView):
    """GET asks for confirmation; POST deletes the endpoint and its events."""

    def confirmation(self, *, endpoint_id) -> Confirmation:
        endpoint = self.endpoint(endpoint_id)
        count = endpoint.events.count()
        return Confirmation(
            title=f"Delete “{endpoint.name}”?",
            affects=f"The sender that posts to “{endpoint.name}” gets 404 from now on.",
            consequences=[f"Its {count} stored event(s) are deleted with it."],
            undo="This cannot be undone; to stop receiving for a while, disable it instead.",
            button="Delete endpoint",
            cancel_url=reverse(
                "portal:webhook", kwargs={"project_slug": self.project.slug, "endpoint_id": endpoint.pk}
            ),
        )

    def post(self, request: HttpRequest, project_slug: str, endpoint_id) -> HttpResponse:
        endpoint = self.endpoint(endpoint_id)
        services.endpoint_delete(endpoint=endpoint, actor=self.actor)
        flash.flash(request, flash.WEBHOOK_ENDPOINT_DELETED, name=endpoint.name)
        return redirect("portal:webhooks", project_slug=self.project.slug)


class EventDetailView(WebhooksBaseView):
    def get(self, request: HttpRequest, project_slug: str, endpoint_id, event_pk) -> HttpResponse:
        endpoint = self.endpoint(endpoint_id)
        event = selectors.event_get(endpoint=endpoint, event_pk=event_pk)
        response = self.render(request, "portal/webhooks/event.html", {"endpoint": endpoint, "event": event})
        response["Cache-Control"] = "no-store"
        return response


class EventReplayView(WebhooksBaseView):
    """POST-only: process the event again (the delivery engine's requeue)."""

    def post(self, request: HttpRequest, project_slug: str, endpoint_id, event_pk) -> HttpResponse:
        endpoint = self.endpoint(endpoint_id)
        event = selectors.event_get(endpoint=endpoint, event_pk=event_pk)
        try:
            services.event_replay(event=event, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            flash.flash(request, flash.WEBHOOK_EVENT_REPLAYED, name=event.event_id)
        if request.POST.get("next") == "event":
            return redirect(
                "portal:webhook_event",
                project_slug=self.project.slug,
                endpoint_id=endpoint.pk,
                event_pk=event.pk,
            )
        return self.back(endpoint)
