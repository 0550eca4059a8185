"""Password rules (length 12, breached list shipped with the project) and the strength meter of every
page that sets a password, which works without JavaScript (docs/SECURITY.md, "Passwords")."""

from __future__ import annotations

import re
from http import HTTPStatus
from urllib.parse import urlparse

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import CommonPasswordValidator, validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import SecurityRequest, User
from accounts.passwords import BREACHED_PASSWORDS_PATH, BreachedPasswordValidator, breached_passwords
from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

STRONG = "a calm river at dawn"
# In the shipped list (the 10-million-password corpus) but not in Django's 20,000 common passwords.
BREACHED_LONG = "qwertyasdfgh123"


def refusal_codes(password: str, user=None) -> set[str]:
    try:
        validate_password(password, user)
    except ValidationError as error:
        return {e.code for e in error.error_list}
    return set()


def meter(html: str) -> re.Match | None:
    return re.search(r'<meter id="password-strength-meter"[^>]* value="(\d)"', html)


class TestRules:
    def test_twelve_characters_at_least(self):
        assert "password_too_short" in refusal_codes("a river b11")  # 11 characters
        assert refusal_codes("a river b112") == set()  # 12

    def test_minimum_length_is_a_setting(self, settings):
        assert settings.PASSWORD_MIN_LENGTH == 12
        [minimum] = [
            v for v in settings.AUTH_PASSWORD_VALIDATORS if v["NAME"].endswith("MinimumLengthValidator")
        ]
        assert minimum["OPTIONS"]["min_length"] == settings.PASSWORD_MIN_LENGTH

    def test_a_breached_password_is_refused_whatever_its_case(self):
        with pytest.raises(ValidationError):
            CommonPasswordValidator().validate("password")  # Django's list knows the short ones…
        CommonPasswordValidator().validate(BREACHED_LONG)  # …not this one, which ours does
        assert "password_breached" in refusal_codes(BREACHED_LONG)
        assert "password_breached" in refusal_codes(BREACHED_LONG.upper())
        assert "password_breached" in refusal_codes(" qwerty123456 ")

    def test_a_long_phrase_passes(self):
        assert refusal_codes(STRONG) == set()
        assert refusal_codes(DEFAULT_PASSWORD) == set()

    def test_the_list_ships_compressed_and_is_read_once(self):
        assert BREACHED_PASSWORDS_PATH.name.endswith(".gz")
        assert BREACHED_PASSWORDS_PATH.stat().st_size < 1_000_000
        breached_passwords.cache_clear()
        BreachedPasswordValidator().validate(STRONG)
        BreachedPasswordValidator().validate("another long phrase")
        assert breached_passwords.cache_info().misses == 1
        assert len(breached_passwords(str(BREACHED_PASSWORDS_PATH))) >= 100_000

    def test_the_list_path_is_an_option(self, tmp_path):
        import gzip

        path = tmp_path / "list.txt.gz"
        path.write_bytes(gzip.compress(b"our house rules 2024\n"))
        validator = BreachedPasswordValidator(password_list_path=path)
        with pytest.raises(ValidationError):
            validator.validate("Our House Rules 2024")
        validator.validate(BREACHED_LONG)


@pytest.fixture
def invite_link(project, admin_user, sent_links):
    invitation_create(
        project=project, actor=Actor(user=admin_user), data=InviteInput(email="joiner@example.test")
    )
    return urlparse(sent_links()[-1]).path


class TestSetPasswordLink:
    def test_the_page_offers_a_check_without_javascript(self, client, invite_link):
        html = client.get(invite_link).content.decode()
        assert 'name="check_strength"' in html and "formnovalidate" in html
        assert meter(html) is None  # nothing typed yet
        assert "<script>" not in html

    def test_check_strength_shows_the_meter_and_saves_nothing(self, client, invite_link):
        response = client.post(invite_link, {"new_password1": "qwerty123456", "check_strength": "1"})
        html = response.content.decode()
        assert response.status_code == HTTPStatus.OK
        assert meter(html).group(1) in {"0", "1"}
        assert "Weak" in html and "very common password" in html
        assert "Nothing was saved" in html
        # the refusal is next to the field, and no "type it again" for the unfilled confirmation
        field = html.split('<div class="field field-error">', 1)[1].split('<div class="password-strength"')[0]
        assert 'id="id_new_password1"' in field and "data breaches" in field
        assert "didn’t match" not in html and "This field is required" not in html
        assert SecurityRequest.objects.get().used_at is None
        assert not SecurityRequest.objects.get().user.has_usable_password()

    def test_a_strong_password_is_rated_strong_and_still_needs_saving(self, client, invite_link):
        html = client.post(
            invite_link, {"new_password1": STRONG, "new_password2": STRONG, "check_strength": "1"}
        )
        assert meter(html.content.decode()).group(1) == "4"
        assert "Very strong" in html.content.decode()
        assert SecurityRequest.objects.get().used_at is None
        saved = client.post(invite_link, {"new_password1": STRONG, "new_password2": STRONG})
        assert saved.status_code == HTTPStatus.SEE_OTHER
        assert authenticate(email="joiner@example.test", password=STRONG) is not None

    def test_a_refused_password_shows_the_meter_with_the_error(self, client, invite_link):
        response = client.post(invite_link, {"new_password1": BREACHED_LONG, "new_password2": BREACHED_LONG})
        html = response.content.decode()
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "data breaches" in html and meter(html).group(1) in {"0", "1"}
        assert SecurityRequest.objects.get().used_at is None


class TestAllauthPages:
    def test_change_password_check_and_refusal(self):
        user = UserFactory()
        client = Client()
        client.force_login(user)
        url = reverse("account_change_password")
        assert 'name="check_strength"' in client.get(url).content.decode()
        check = client.post(
            url, {"oldpassword": DEFAULT_PASSWORD, "password1": STRONG, "check_strength": "1"}
        )
        assert check.status_code == HTTPStatus.OK and meter(check.content.decode()).group(1) == "4"
        user.refresh_from_db()
        assert user.check_password(DEFAULT_PASSWORD)  # nothing saved
        refused = client.post(
            url, {"oldpassword": DEFAULT_PASSWORD, "password1": "short one", "password2": "short one"}
        )
        assert "at least 12 characters" in refused.content.decode()
        user.refresh_from_db()
        assert user.check_password(DEFAULT_PASSWORD)
        changed = client.post(
            url, {"oldpassword": DEFAULT_PASSWORD, "password1": STRONG, "password2": STRONG}
        )
        assert changed.status_code == HTTPStatus.FOUND
        user.refresh_from_db()
        assert user.check_password(STRONG)

    def test_sign_up_check_creates_no_account(self, settings):
        settings.SIGNUP_OPEN = True
        client = Client()
        url = reverse("account_signup")
        assert 'name="check_strength"' in client.get(url).content.decode()
        email = "newcomer@example.test"
        check = client.post(url, {"email": email, "password1": "newcomer2024!", "check_strength": "1"})
        html = check.content.decode()
        assert check.status_code == HTTPStatus.OK and meter(html) is not None
        assert not User.objects.filter(email=email).exists()
        refused = client.post(url, {"email": email, "password1": BREACHED_LONG, "password2": BREACHED_LONG})
        assert "data breaches" in refused.content.decode()
        assert not User.objects.filter(email=email).exists()
