"""Where federated sign-in leans on django-allauth (65.22.1) beyond its adapter, and a loud
failure when an upgrade moves it (federation/upstream/, federation/adapters.py)."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers import registry
from allauth.socialaccount.providers.base import Provider
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.urls import reverse

from federation.upstream.provider import UpstreamProvider

ALLAUTH = f"django-allauth {version('django-allauth')}"


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_our_provider_class_is_registered_from_federation_provider_module():
    # allauth's registry imports `<app>.provider` of every installed app (federation/provider.py).
    assert registry.get_class("oidc") is UpstreamProvider, ALLAUTH


def test_redirect_passes_extra_kwargs_into_the_stashed_state():
    # UpstreamProvider.redirect adds `nonce=` and relies on it reaching stash_redirect_state(**kwargs).
    assert _parameters(OAuth2Provider.redirect)[:5] == ["self", "request", "process", "next_url", "data"], (
        ALLAUTH
    )
    source = inspect.getsource(OAuth2Provider.redirect)
    assert (
        'kwargs.pop("auth_params", None)' in source and "**kwargs" in source.split("stash_redirect_state(")[1]
    )
    assert _parameters(Provider.stash_redirect_state) == [
        "self", "request", "process", "next_url", "data", "state_id", "kwargs",
    ], ALLAUTH  # fmt: skip


def test_the_callback_hands_the_token_response_to_complete_login_and_renders_oauth2_errors():
    # UpstreamOAuth2Adapter.complete_login reads kwargs["response"]["id_token"] and raises
    # UpstreamError (an OAuth2Error), which the callback must turn into render_authentication_error.
    source = inspect.getsource(OAuth2CallbackView.dispatch)
    assert "complete_login(" in source and "response=access_token" in source, ALLAUTH
    assert "OAuth2Error" in source and "render_authentication_error" in source, ALLAUTH
    assert _parameters(OpenIDConnectOAuth2Adapter.__init__) == ["self", "request", "provider_id"], ALLAUTH


def test_the_adapter_hooks_we_override_keep_their_signatures():
    assert _parameters(DefaultSocialAccountAdapter.list_apps) == ["self", "request", "provider", "client_id"]
    assert _parameters(DefaultSocialAccountAdapter.pre_social_login) == ["self", "request", "sociallogin"]
    assert _parameters(DefaultSocialAccountAdapter.on_authentication_error) == [
        "self", "request", "provider", "error", "exception", "extra_context",
    ], ALLAUTH  # fmt: skip


@pytest.mark.django_db
def test_allauths_login_rate_limit_covers_the_email_step(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}
    answers = [
        client.post(reverse("account_login"), {"login": f"p{i}@plain.example"}).status_code for i in range(4)
    ]
    assert answers == [200, 200, 200, 429]
