"""Portal forms of the webhooks app: they parse; webhooks.services decides."""

from __future__ import annotations

from django import forms

from oauth.models import Client
from webhooks.constants import WebhookScheme
from webhooks.handlers import handler_choices
from webhooks.models import WebhookEndpoint
from webhooks.schemes.basic import client_may_sign

SECRET_HELP: dict[str, str] = {
    WebhookScheme.STRIPE: "Stripe's signing secret for this endpoint (whsec_…), shown by Stripe once you add the URL.",
    WebhookScheme.STANDARD: "Leave blank to have one generated (whsec_…), or paste the sender's.",
    WebhookScheme.OKTA: "The Authorization header value Okta sends. Leave blank to have one generated.",
}


def _client_choices(project) -> list[tuple[str, str]]:
    clients = Client.objects.filter(project=project).order_by("name")
    return [("", "—")] + [
        (client.client_id, f"{client.name} ({client.client_id})")
        for client in clients
        if client_may_sign(client)
    ]


class EndpointForm(forms.Form):
    name = forms.CharField(max_length=120)
    scheme = forms.ChoiceField(choices=WebhookScheme.choices, widget=forms.RadioSelect, label="Verification")
    handler = forms.ChoiceField(
        label="What to do with events",
        help_text="Okta user lifecycle needs the Okta scheme; Store only works with any.",
    )
    client_id = forms.ChoiceField(
        required=False,
        label="OAuth client (HTTP Basic only)",
        help_text="The sender presents this client's id and secret.",
    )
    secret = forms.CharField(
        required=False,
        label="Secret",
        help_text=" ".join(SECRET_HELP.values()) + " HTTP Basic: none (the client's secret is used).",
        # Never rendered back: pages say whether one is stored, never what it is.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="Active (a disabled endpoint answers 404)"
    )

    def __init__(self, *args, project, editing: WebhookEndpoint | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        clients = _client_choices(project)
        if editing is not None:
            current = editing.client
            if current is not None and current.client_id not in dict(clients):
                clients.append(
                    (current.client_id, f"{current.name} ({current.client_id}, cannot authenticate now)")
                )
        self._choose("handler", handler_choices())
        self._choose("client_id", clients)
        if editing is not None:
            self.fields["scheme"].disabled = True
            self.fields["scheme"].help_text = "The scheme cannot change; create another endpoint."
            self.fields["secret"].help_text = (
                "A secret is stored. Leave blank to keep it; a new one replaces it at once "
                "(use Rotate secret to keep the old one valid for 24 hours)."
                if editing.secret
                else SECRET_HELP.get(editing.scheme, "No secret is used by this scheme.")
            )

    def _choose(self, name: str, choices: list[tuple[str, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


def endpoint_initial(endpoint: WebhookEndpoint) -> dict:
    return {
        "name": endpoint.name,
        "scheme": endpoint.scheme,
        "handler": endpoint.handler,
        "client_id": endpoint.client.client_id if endpoint.client else "",
        "is_active": endpoint.is_active,
    }


class RotateSecretForm(forms.Form):
    secret = forms.CharField(
        required=False,
        label="New secret",
        help_text="Stripe: paste the new signing secret Stripe shows when you roll it. Others: leave blank to generate one.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
