"""Expiry decisions read identity.clock, so moving the clock moves them (no sleeping, no real time)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from oauth2_provider.models import set_token_value

from identity.clock import clock as app_clock
from oauth import selectors
from oauth.models import AccessToken
from tests.oauth.conftest import authorize_params, get_code


def _access_token(*, user, client, lifetime=timedelta(hours=1)) -> AccessToken:
    token = AccessToken(user=user, application=client, scope="openid", expires=app_clock.now() + lifetime)
    set_token_value(token, secrets.token_urlsafe(32))
    token.save()
    return token


def test_live_token_counts_follow_the_clock(web_client, member, clock):
    _access_token(user=member, client=web_client)
    assert selectors.client_token_counts(client=web_client)["access_tokens"] == 1
    assert selectors.client_list(project=web_client.project).get().active_tokens == 1
    clock.advance(timedelta(hours=2))
    assert selectors.client_token_counts(client=web_client)["access_tokens"] == 0
    assert selectors.client_list(project=web_client.project).get().active_tokens == 0


def test_connected_apps_follow_the_clock(web_client, member, clock):
    _access_token(user=member, client=web_client)
    assert [app["client"] for app in selectors.connected_apps(user=member)] == [web_client]
    clock.advance(timedelta(hours=2))
    assert selectors.connected_apps(user=member) == []


@pytest.mark.parametrize(("elapsed", "fresh_login"), [(30, False), (120, True)])
def test_max_age_is_measured_with_the_clock(browser, web_client, member, clock, elapsed, fresh_login):
    get_code(browser, web_client)  # consent given; signed in just now
    clock.advance(timedelta(seconds=elapsed))
    params = authorize_params(web_client, prompt="none", max_age="60")
    params.pop("_verifier")
    query = parse_qs(urlparse(browser.get("/o/authorize/?" + urlencode(params))["Location"]).query)
    assert ("error" in query and query["error"] == ["login_required"]) is fresh_login
    assert ("code" in query) is not fresh_login
