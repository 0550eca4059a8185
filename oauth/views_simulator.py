"""The access simulator's portal page (routed by oauth/portal_urls.py; the logic: oauth/simulator.py).

A GET form, no JavaScript: a small search form narrows the member list (the first
`MEMBER_CHOICES` matches by name or email), the main form picks a member, an app or both and a
scope string; "Simulate" shows what would be granted and why.
"""

from __future__ import annotations

from contextlib import suppress
from typing import cast

from django import forms
from django.http import Http404, HttpRequest, HttpResponse

from accounts import selectors as account_selectors
from identity.errors import ApplicationError
from identity.portal import ProjectAdminView, form_add_service_error
from oauth import selectors, simulator

MEMBER_CHOICES = 50
CLIENT_CHOICES = 200


def _member_label(membership) -> str:
    user = membership.user
    name = user.get_full_name()
    label = f"{name} <{user.email}>" if name and user.email else (name or user.email or str(membership.pk))
    return label if membership.is_active else f"{label} (deactivated)"


class AccessSimulatorForm(forms.Form):
    membership = forms.ChoiceField(required=False, label="Member")
    client = forms.ChoiceField(required=False, label="App (client)")
    scope = forms.CharField(
        max_length=4000,
        label="Scopes",
        help_text="The scope string the app would send, e.g. openid launch/patient patient/*.rs",
    )

    def __init__(self, *args, project, query: str = "", selected: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        matches = account_selectors.membership_list(project=project, query=query, sort="email")
        self.member_count = matches.count()
        members = list(matches[:MEMBER_CHOICES])
        if selected and all(str(m.pk) != selected for m in members):
            # Keep the chosen member listed when the search does not show them; another project's
            # (or a malformed) id stays out and is "not one of the available choices".
            with suppress(Http404):
                members.insert(0, account_selectors.membership_get(project=project, membership_id=selected))
        if query and len(members) == 1 and not selected:
            self.fields["membership"].initial = str(members[0].pk)  # the one match of a search
        cast(forms.ChoiceField, self.fields["membership"]).choices = [
            ("", "No member: the app on its own (client credentials)"),
            *((str(m.pk), _member_label(m)) for m in members),
        ]
        cast(forms.ChoiceField, self.fields["client"]).choices = [
            ("", simulator.ANY_APP_NAME),
            *(
                (c.client_id, f"{c.name} ({c.client_id})")
                for c in selectors.client_list(project=project)[:CLIENT_CHOICES]
            ),
        ]

    def clean(self):
        data = super().clean() or {}
        if not data.get("membership") and not data.get("client"):
            raise forms.ValidationError("Choose a member, an app, or both.")
        return data


class AccessSimulatorView(ProjectAdminView):
    section = "simulator"

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        query = request.GET.get("q", "").strip()
        selected = request.GET.get("membership", "")
        options = {"project": self.project, "query": query, "selected": selected}
        result = None
        if "run" in request.GET:
            form = AccessSimulatorForm(request.GET, **options)
            if form.is_valid():
                try:
                    result = simulator.access_simulate(
                        project=self.project,
                        scope=form.cleaned_data["scope"],
                        membership=simulator.simulation_membership_from_input(
                            project=self.project,
                            membership_id=form.cleaned_data["membership"],
                            field="membership",
                        ),
                        client=simulator.simulation_client_from_input(
                            project=self.project, client_id=form.cleaned_data["client"], field="client"
                        ),
                    )
                except ApplicationError as error:
                    form_add_service_error(form, error)
        else:  # first visit, a link (?membership= / ?client=) or a member search: no errors yet
            initial = {k: v for k in ("membership", "client", "scope") if (v := request.GET.get(k, ""))}
            form = AccessSimulatorForm(initial=initial, **options)
        return self.render(
            request,
            "portal/simulator/page.html",
            {
                "form": form,
                "q": query,
                "result": result,
                "member_limit": MEMBER_CHOICES,
                "more_members": form.member_count > MEMBER_CHOICES,
            },
            status=400 if "run" in request.GET and result is None else 200,
        )
