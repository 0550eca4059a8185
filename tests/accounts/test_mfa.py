"""Two-factor authentication (issue #12 items 1-2): sign-in with a second factor, `amr`/`acr` in
ID tokens, step-up with `acr_values`, projects that require a factor (enrolment at sign-in,
tokens refused without one), and an admin's reset of a member's factors.

TOTP codes are computed from the secret with allauth's own HOTP function at the real time."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache
from django.db import connection
from django.test import Client as BrowserClient
from rest_framework.test import APIClient

from audit.models import AuditEvent
from notifications.models import OutboundMessage
from oauth.authn_context import Acr, acr_of, acr_values_want_mfa, amr_of_records
from oauth.rules import user_may_use_client
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory
from tests.oauth import conftest as oauth_fixtures
from tests.oauth.conftest import authorize_params, session_for, verify_id_token

pytestmark = pytest.mark.django_db(transaction=True)

issuer = oauth_fixtures.issuer
oauth_project = oauth_fixtures.oauth_project
make_client = oauth_fixtures.make_client
web_client = oauth_fixtures.web_client
_close_oauth_sessions = oauth_fixtures._close_oauth_sessions


def totp_code(secret: str) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture(autouse=True)
def _fresh_codes(settings):
    cache.clear()  # allauth remembers used TOTP codes (no reuse within their window) in the cache
    # A code computed just before a 30 s boundary is checked just after it: accept the previous
    # step in tests (production keeps allauth's default of the current step only, ASVS V6.5.5).
    settings.MFA_TOTP_TOLERANCE = 1
    yield


def enrol_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def member_of(project, email: str):
    user = UserFactory(email=email)
    MembershipFactory(project=project, user=user)
    user.emailaddress_set.update(verified=True)
    return user


def password_sign_in(email: str, next_url: str = "") -> tuple[BrowserClient, object]:
    browser = BrowserClient()
    data = {"login": email, "password": DEFAULT_PASSWORD}
    if next_url:
        data["next"] = next_url
    return browser, browser.post("/accounts/login/", data)


# --- amr / acr -----------------------------------------------------------------------------------


def test_amr_and_acr_of_authentication_records():
    assert amr_of_records([{"method": "password"}]) == ["pwd"]
    assert amr_of_records([{"method": "password"}, {"method": "mfa", "type": "totp"}]) == [
        "pwd",
        "otp",
        "mfa",
    ]
    assert amr_of_records([{"method": "socialaccount"}, {"method": "mfa", "type": "webauthn"}]) == [
        "fed",
        "hwk",
        "mfa",
    ]
    assert amr_of_records([{"method": "mfa", "type": "webauthn", "passwordless": True}]) == ["hwk", "mfa"]
    assert amr_of_records([{"method": "mfa", "type": "recovery_codes"}]) == ["otp"]  # no first factor
    assert acr_of(["pwd"]) == Acr.SINGLE_FACTOR and acr_of(["pwd", "otp", "mfa"]) == Acr.MULTI_FACTOR
    assert acr_values_want_mfa(Acr.MULTI_FACTOR) and acr_values_want_mfa("mfa")
    assert not acr_values_want_mfa(f"{Acr.MULTI_FACTOR} {Acr.SINGLE_FACTOR}") and not acr_values_want_mfa("")


def test_discovery_lists_the_acr_values(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert document["acr_values_supported"] == [Acr.SINGLE_FACTOR, Acr.MULTI_FACTOR]
    assert "acr" in document["claims_supported"]


# --- sign-in with a second factor ----------------------------------------------------------------


def test_sign_in_asks_for_the_code_and_the_id_token_says_mfa(issuer, oauth_project, web_client):
    user = member_of(oauth_project, "tess@clinic.test")
    secret = enrol_totp(user)
    browser, response = password_sign_in(user.email)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/authenticate/")
    assert browser.get("/portal/").status_code == 302  # not signed in yet
    wrong = browser.post(
        "/accounts/2fa/authenticate/", {"code": "000000" if totp_code(secret) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()
    done = browser.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert done.status_code == 302
    code, params = oauth_fixtures.get_code(browser, web_client)
    token = session_for(web_client).fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=params["_verifier"]
    )
    claims = verify_id_token(
        token["id_token"], issuer=issuer, client_id=web_client.client_id, nonce=params["nonce"]
    )
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == Acr.MULTI_FACTOR


def test_the_totp_secret_is_encrypted_at_rest(oauth_project):
    user = member_of(oauth_project, "enc@clinic.test")
    secret = enrol_totp(user)
    with connection.cursor() as cursor:
        cursor.execute("select data from mfa_authenticator where user_id = %s", [user.pk])
        (raw,) = cursor.fetchone()
    assert secret not in str(raw)
    assert TOTP(Authenticator.objects.get(user=user)).validate_code(totp_code(secret))


# --- step-up with acr_values -----------------------------------------------------------------------


def test_acr_values_step_up_a_password_only_session(issuer, oauth_project, web_client):
    user = member_of(oauth_project, "step@clinic.test")
    browser, _ = password_sign_in(user.email)  # no factor yet: a one-factor session
    secret = enrol_totp(user)  # enrolled later, in another browser say
    params = authorize_params(web_client, acr_values=Acr.MULTI_FACTOR)
    verifier = params.pop("_verifier")
    authorize = "/o/authorize/?" + urlencode(params)
    response = browser.get(authorize)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/2fa/reauthenticate/"
    assert parse_qs(location.query)["next"] == [authorize]
    back = browser.post(response["Location"], {"code": totp_code(secret)})
    assert back.status_code == 302 and back["Location"] == authorize
    consent = browser.get(authorize)
    assert consent.status_code == 200
    form = {k: v for k, v in consent.context["form"].initial.items() if v is not None}
    approved = browser.post("/o/authorize/", {**form, "consent": "1", "allow": "Authorize"})
    assert "code=" in approved["Location"], approved["Location"]
    code = parse_qs(urlsplit(approved["Location"]).query)["code"][0]
    token = session_for(web_client).fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=verifier
    )
    claims = verify_id_token(
        token["id_token"], issuer=issuer, client_id=web_client.client_id, nonce=params["nonce"]
    )
    assert "mfa" in claims["amr"] and claims["acr"] == Acr.MULTI_FACTOR


def test_acr_values_with_prompt_none_is_interaction_required(oauth_project, web_client):
    user = member_of(oauth_project, "quiet@clinic.test")
    browser, _ = password_sign_in(user.email)
    params = authorize_params(web_client, acr_values="mfa", prompt="none")
    params.pop("_verifier")
    response = browser.get("/o/authorize/?" + urlencode(params))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["interaction_required"] and query["state"] == [params["state"]]


def test_a_single_factor_id_token_says_so(issuer, oauth_project, web_client):
    user = member_of(oauth_project, "one@clinic.test")
    browser, _ = password_sign_in(user.email)
    code, params = oauth_fixtures.get_code(browser, web_client)
    token = session_for(web_client).fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=params["_verifier"]
    )
    claims = verify_id_token(
        token["id_token"], issuer=issuer, client_id=web_client.client_id, nonce=params["nonce"]
    )
    assert claims["amr"] == ["pwd"] and claims["acr"] == Acr.SINGLE_FACTOR


# --- projects that require a factor ----------------------------------------------------------------


def test_a_project_requiring_mfa_sends_a_member_without_one_to_enrolment(oauth_project, web_client):
    oauth_project.mfa_required = True
    oauth_project.save()
    user = member_of(oauth_project, "new@clinic.test")
    params = authorize_params(web_client)
    params.pop("_verifier")
    authorize = "/o/authorize/?" + urlencode(params)
    browser, response = password_sign_in(user.email, next_url=authorize)
    assert response.status_code == 302
    portal = browser.get("/portal/")
    assert portal.status_code == 302 and portal["Location"] == "/account/two-factor/required/"
    app = browser.get(authorize)
    assert app.status_code == 302 and urlsplit(app["Location"]).path == "/account/two-factor/required/"
    page = browser.get(app["Location"])
    assert page.status_code == 200 and oauth_project.brand_name in page.content.decode()
    # enrol through allauth's page
    # allauth asks for the password again before a factor is added (ASVS V7.5.1)
    reauth = browser.get("/accounts/2fa/totp/activate/")
    assert urlsplit(reauth["Location"]).path == "/accounts/reauthenticate/"
    assert browser.post(reauth["Location"], {"password": DEFAULT_PASSWORD}).status_code == 302
    activate = browser.get("/accounts/2fa/totp/activate/")
    assert activate.status_code == 200
    secret = activate.context["form"].secret
    enrolled = browser.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert enrolled.status_code == 302
    assert (
        browser.get("/portal/").status_code != 302
        or browser.get("/portal/")["Location"] != "/account/two-factor/required/"
    )
    assert "Continue where you were going" in browser.get("/account/sessions/").content.decode()
    back = browser.get("/account/two-factor/continue/")
    assert back["Location"] == authorize
    # the session still has one factor: step up with the new one, then the app is reached
    step = browser.get(authorize)
    assert urlsplit(step["Location"]).path == "/accounts/2fa/reauthenticate/"
    cache.clear()
    assert browser.post(step["Location"], {"code": totp_code(secret)})["Location"] == authorize
    assert browser.get(authorize).status_code == 200  # the consent page


def test_tokens_are_refused_to_members_without_a_factor(oauth_project, web_client):
    user = member_of(oauth_project, "tok@clinic.test")
    assert user_may_use_client(user, web_client)
    oauth_project.mfa_required = True
    oauth_project.save()
    assert not user_may_use_client(user, web_client)
    enrol_totp(user)
    assert user_may_use_client(user, web_client)
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    other = member_of(oauth_project, "codes-only@clinic.test")
    RecoveryCodes.activate(other)
    assert not user_may_use_client(other, web_client)  # recovery codes are not a factor


def test_the_last_factor_cannot_be_removed_while_a_project_requires_one(oauth_project):
    from allauth.mfa.adapter import get_adapter

    user = member_of(oauth_project, "keep@clinic.test")
    enrol_totp(user)
    authenticator = Authenticator.objects.get(user=user, type="totp")
    assert get_adapter().can_delete_authenticator(authenticator)
    oauth_project.mfa_required = True
    oauth_project.save()
    assert not get_adapter().can_delete_authenticator(authenticator)


# --- an admin resets a member's factors ------------------------------------------------------------


@pytest.fixture
def admin_browser(oauth_project):
    admin = UserFactory(email="admin@clinic.test")
    MembershipFactory(project=oauth_project, user=admin, role="admin")
    browser = BrowserClient()
    browser.force_login(admin)
    return browser, admin


def test_an_admin_resets_a_members_factors(oauth_project, admin_browser):
    browser, admin = admin_browser
    user = member_of(oauth_project, "lost@clinic.test")
    enrol_totp(user)
    membership = user.memberships.get()
    listing = browser.get(f"/portal/{oauth_project.slug}/users/").content.decode()
    assert "Authenticator app" in listing
    url = f"/portal/{oauth_project.slug}/users/{membership.pk}/mfa-reset/"
    confirm = browser.get(url)
    assert confirm.status_code == 200 and "signs them out everywhere" in confirm.content.decode()
    assert Authenticator.objects.filter(user=user).exists()  # a GET changes nothing
    done = browser.post(url)
    assert done.status_code == 302
    assert not Authenticator.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action="membership.mfa_reset")
    assert (
        event.project == oauth_project and event.actor_user == admin and event.details["removed"] == ["totp"]
    )
    assert OutboundMessage.objects.filter(to_email=user.email, subject__icontains="two-factor").exists()
    again = browser.post(url, follow=True)
    assert "no two-factor authentication to reset" in again.content.decode()


def test_reset_is_refused_for_owners_by_admins_and_for_people_of_other_projects(oauth_project, admin_browser):
    browser, admin = admin_browser
    owner = UserFactory(email="boss@clinic.test")
    owner_membership = MembershipFactory(project=oauth_project, user=owner, role="owner")
    enrol_totp(owner)
    shared = member_of(oauth_project, "shared@clinic.test")
    MembershipFactory(project=ProjectFactory(), user=shared)
    enrol_totp(shared)
    api = APIClient()
    api.force_authenticate(admin)
    base = f"/api/v1/projects/{oauth_project.pk}/memberships"
    refused = api.post(f"{base}/{owner_membership.pk}/mfa-reset/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    conflict = api.post(f"{base}/{shared.memberships.get(project=oauth_project).pk}/mfa-reset/")
    assert conflict.status_code == 409 and "other projects" in conflict.json()["error"]["message"]
    assert Authenticator.objects.filter(user__in=[owner, shared]).count() == 2
    stranger = MembershipFactory(project=ProjectFactory())
    enrol_totp(stranger.user)
    assert api.post(f"{base}/{stranger.pk}/mfa-reset/").status_code == 404
    ok_user = member_of(oauth_project, "ok@clinic.test")
    enrol_totp(ok_user)
    assert api.post(f"{base}/{ok_user.memberships.get().pk}/mfa-reset/").status_code == 204
    assert not Authenticator.objects.filter(user=ok_user).exists()


def test_wrong_codes_lock_the_code_step_like_the_password_step(oauth_project, settings):
    settings.LOCKOUT_THRESHOLD, settings.LOCKOUT_DELAY_BASE_SECONDS = 3, 0
    user = member_of(oauth_project, "guess@clinic.test")
    secret = enrol_totp(user)
    browser, _ = password_sign_in(user.email)
    right = totp_code(secret)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        assert (
            "Incorrect code" in browser.post("/accounts/2fa/authenticate/", {"code": wrong}).content.decode()
        )
    refused = browser.post("/accounts/2fa/authenticate/", {"code": right})
    assert refused.status_code == 200 and "Too many failed attempts" in refused.content.decode()
    assert browser.get("/portal/").status_code == 302  # still not signed in
    assert AuditEvent.objects.filter(action="account.locked", project=oauth_project).exists()
