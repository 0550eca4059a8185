from __future__ import annotations

import json

from django import forms
from oauth2_provider.forms import AllowForm

from accounts.models import AccessPolicy
from oauth.constants import TokenEndpointAuthMethod
from oauth.models import Client, ClientRole, GrantType, SigningAlgorithm
from oauth.scopes import NAMED_SCOPES, scope_errors


class ClientForm(forms.Form):
    name = forms.CharField(max_length=255)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    client_type = forms.ChoiceField(
        choices=[
            (Client.CLIENT_CONFIDENTIAL, "Confidential (a server that keeps a secret)"),
            (Client.CLIENT_PUBLIC, "Public (browser or native app, no secret; PKCE)"),
        ],
        widget=forms.RadioSelect,
    )
    grant_types = forms.MultipleChoiceField(choices=GrantType.choices, widget=forms.CheckboxSelectMultiple)
    redirect_uris = forms.CharField(
        required=False,
        label="Redirect URIs",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, matched exactly. https only; http://127.0.0.1 (any port) for native apps.",
    )
    scopes = forms.MultipleChoiceField(
        choices=[(k, f"{k} — {v}") for k, v in NAMED_SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        initial=["openid"],
        required=False,
    )
    resource_scopes = forms.CharField(
        required=False,
        label="SMART resource scopes",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "The most this app may ask for, separated by spaces or new lines, e.g. patient/*.rs "
            "user/Observation.cruds system/Patient.rs. What a token gets is also cut to the "
            "access policy of the user (or of this client, for client credentials)."
        ),
    )
    access_token_lifetime = forms.IntegerField(
        required=False, min_value=60, help_text="Seconds; empty = 3600."
    )
    refresh_token_lifetime = forms.IntegerField(
        required=False, min_value=60, help_text="Seconds; empty = 30 days."
    )
    skip_consent = forms.BooleanField(required=False, label="First-party app: skip the consent page")
    role = forms.ChoiceField(
        choices=ClientRole.choices, required=False, label="Portal API role (client credentials)"
    )
    access_policy = forms.ModelChoiceField(
        queryset=AccessPolicy.objects.none(),
        required=False,
        empty_label="No access policy",
        help_text=(
            "Client credentials: what the client's own tokens may reach. For people signing in, "
            "their membership's policy applies."
        ),
    )
    algorithm = forms.ChoiceField(
        choices=SigningAlgorithm.choices, initial=SigningAlgorithm.RS256, label="ID token signature"
    )
    access_token_algorithm = forms.ChoiceField(
        choices=SigningAlgorithm.choices,
        initial=SigningAlgorithm.RS256,
        required=False,  # absent = RS256 (the service's default)
        label="Access token signature",
        help_text=(
            "For the APIs that verify this client's access tokens against our JWKS. RS256 works "
            "everywhere; ES256 is faster to issue, if they accept it."
        ),
    )
    token_endpoint_auth_method = forms.ChoiceField(
        choices=[("", "Default (a secret for confidential clients, none for public ones)")]
        + TokenEndpointAuthMethod.choices,
        required=False,
        label="Client authentication",
        help_text=(
            "private_key_jwt (SMART Backend Services): the client signs a short-lived JWT with its "
            "private key and has no secret; give its public keys below, as a JWKS URL or a JWKS."
        ),
    )
    jwks_uri = forms.CharField(
        required=False,
        max_length=2000,
        label="JWKS URL",
        help_text="private_key_jwt: an https URL serving the client's public keys.",
    )
    jwks = forms.CharField(
        required=False,
        label="JWKS",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text='private_key_jwt: the public keys as JSON, {"keys": [...]}. Never the private key.',
    )
    post_logout_redirect_uris = forms.CharField(
        required=False,
        label="Post-logout redirect URIs",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=(
            "Where the app may send people back to after signing them out (RP-initiated logout); "
            "one per line, matched exactly, the rules of redirect URIs."
        ),
    )
    backchannel_logout_uri = forms.CharField(
        required=False,
        max_length=2000,
        label="Back-channel logout URI",
        help_text="An https URL of the app that receives a logout token when a session it got tokens in ends.",
    )
    backchannel_logout_session_required = forms.BooleanField(
        required=False,
        initial=True,
        label="Logout tokens name the session (sid)",
    )
    revoke_tokens_on_logout = forms.BooleanField(
        required=False,
        initial=True,
        label="Revoke the app's tokens when the session they were issued in ends",
    )

    def __init__(self, *args, project, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["access_policy"].queryset = AccessPolicy.objects.filter(project=project).order_by("name")
        if editing:
            self.fields["client_type"].disabled = True

    def clean_resource_scopes(self) -> list[str]:
        scopes = (self.cleaned_data.get("resource_scopes") or "").split()
        if problems := scope_errors(scopes):
            raise forms.ValidationError(problems)
        return scopes

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        # One list for the service: the named scopes ticked plus the resource scopes typed.
        cleaned["scopes"] = [*cleaned.get("scopes", []), *cleaned.get("resource_scopes", [])]
        return cleaned

    def clean_jwks(self) -> dict:
        text = (self.cleaned_data.get("jwks") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"This is not valid JSON ({error}).") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Give a JSON object: {"keys": [...]}.')
        return value

    def clean_redirect_uris(self) -> list[str]:
        return [
            line.strip()
            for line in (self.cleaned_data.get("redirect_uris") or "").splitlines()
            if line.strip()
        ]

    def clean_post_logout_redirect_uris(self) -> list[str]:
        return (self.cleaned_data.get("post_logout_redirect_uris") or "").split()


def client_initial(client: Client) -> dict:
    return {
        "name": client.name,
        "description": client.description,
        "client_type": client.client_type,
        "grant_types": client.allowed_grant_types,
        "redirect_uris": "\n".join(client.redirect_uris.split()),
        "scopes": [s for s in client.allowed_scopes.split() if s in NAMED_SCOPES],
        "resource_scopes": " ".join(s for s in client.allowed_scopes.split() if s not in NAMED_SCOPES),
        "access_token_lifetime": client.access_token_lifetime,
        "refresh_token_lifetime": client.refresh_token_lifetime,
        "skip_consent": client.skip_authorization,
        "role": client.role,
        "access_policy": client.access_policy,
        "algorithm": client.algorithm or "RS256",
        "access_token_algorithm": client.access_token_algorithm,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "jwks_uri": client.jwks_uri,
        "jwks": json.dumps(client.jwks, indent=2) if client.jwks else "",
        "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uris.split()),
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "backchannel_logout_session_required": client.backchannel_logout_session_required,
        "revoke_tokens_on_logout": client.revoke_tokens_on_logout,
    }


class AuthorizeForm(AllowForm):
    """DOT's consent form, plus the SMART EHR `launch` it must carry to the code."""

    launch = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
