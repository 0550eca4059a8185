"""Key management: SECRET_KEY and ENCRYPTION_KEYS rotate without breaking tokens, links or stored data.

Every test starts in the embedded default (no ENCRYPTION_KEYS: SECRET_KEY encrypts) or sets
the keys it needs; the token endpoint is exercised in-process with the real signing keys.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from jwcrypto import jwk, jwt

from accounts.models import SecurityRequestKind
from accounts.services.security_links import security_link_check, security_link_issue
from audit.context import Actor
from identity import checks
from identity.crypto import UNREADABLE
from notifications.models import MessageKind, OutboundMessage
from notifications.services import message_enqueue
from oauth import keys
from oauth.models import SigningKey
from oauth.services import ClientInput, client_create
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

OLD_SECRET = "old-secret-key-" + "a" * 50
NEW_SECRET = "new-secret-key-" + "b" * 50
K1 = "encryption-key-one-" + "c" * 40
K2 = "encryption-key-two-" + "d" * 40
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keyed(settings):
    """The development default: no ENCRYPTION_KEYS, no pepper, SECRET_KEY = OLD_SECRET."""
    settings.SECRET_KEY = OLD_SECRET
    settings.SECRET_KEY_FALLBACKS = []
    settings.ENCRYPTION_KEYS = []
    settings.CLIENT_SECRET_PEPPER = ""
    settings.CLIENT_SECRET_PEPPER_FALLBACKS = []
    return settings


def reload_keys() -> None:
    """What another process (or this one after OAUTH_KEY_CACHE_SECONDS) would see."""
    keys._cache.update(at=0.0, keys=None)


@pytest.fixture
def m2m(project):
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(name="Lab sync", grant_types=["client_credentials"], scopes=["openid"]),
    )
    return issued.client.client_id, issued.client_secret


def token_for(client_id: str, secret: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )


def kid_of(token: str) -> str:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]


def verify_with_jwks(token: str) -> dict:
    key_set = jwk.JWKSet.from_json(Client().get("/o/jwks/").content)
    return json.loads(jwt.JWT(jwt=token, key=key_set).claims)


def introspect(client_id: str, secret: str, token: str) -> dict:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return Client().post("/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=f"Basic {basic}").json()


def raw_column(model, pk, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s",  # test constants
            [pk.hex if connection.vendor == "sqlite" and hasattr(pk, "hex") else pk],
        )
        return cursor.fetchone()[0]


def notice(to: str = "someone@example.test") -> OutboundMessage:
    return message_enqueue(
        kind=MessageKind.PASSWORD_RESET,
        to_email=to,
        context={"link": "https://portal.test/setpassword/x/secret-link-value", "expires_at": None},
    )


class TestSecretKeyRotation:
    def test_tokens_are_still_issued_and_verified_with_the_old_key_in_fallbacks(self, keyed, m2m):
        client_id, secret = m2m
        before = token_for(client_id, secret)
        assert before.status_code == 200, before.content
        old_token = before.json()["access_token"]

        keyed.SECRET_KEY, keyed.SECRET_KEY_FALLBACKS = NEW_SECRET, [OLD_SECRET]
        reload_keys()

        after = token_for(client_id, secret)  # the client secret was keyed with the old SECRET_KEY
        assert after.status_code == 200, after.content
        new_token = after.json()["access_token"]
        assert kid_of(new_token) == kid_of(old_token)  # the stored signing key is still readable
        assert verify_with_jwks(new_token)["client_id"] == client_id
        assert verify_with_jwks(old_token)["client_id"] == client_id
        assert introspect(client_id, secret, old_token)["active"] is True
        assert introspect(client_id, secret, new_token)["active"] is True

    def test_set_password_links_survive_the_rotation(self, keyed, project):
        user = UserFactory(email="invitee@example.test")
        membership = MembershipFactory(project=project, user=user)
        link = security_link_issue(
            kind=SecurityRequestKind.INVITE, user=user, project=project, membership=membership
        )
        request_id, secret = link.url.rstrip("/").split("/")[-2:]
        keyed.SECRET_KEY, keyed.SECRET_KEY_FALLBACKS = NEW_SECRET, [OLD_SECRET]
        assert security_link_check(request_id=request_id, secret=secret).pk == link.request.pk

    def test_without_the_fallback_stored_keys_are_reported_unreadable(self, keyed, m2m):
        assert token_for(*m2m).status_code == 200  # signing keys exist, encrypted with OLD_SECRET
        keyed.SECRET_KEY = NEW_SECRET
        reload_keys()
        assert {row.private_pem for row in SigningKey.objects.all()} == {UNREADABLE}
        errors = checks.check_stored_keys_readable(databases=["default"])
        assert [e.id for e in errors] == ["identity.E003"]
        assert "ENCRYPTION_KEYS" in errors[0].hint
        with pytest.raises(keys.SigningKeyUnreadable, match="cannot be decrypted"):
            keys.loaded_keys(refresh=True)
        # a configured pepper of its own would have kept the client secret: here it was SECRET_KEY
        assert token_for(*m2m).status_code == 401


class TestEncryptionKeyRotation:
    def test_rotate_and_reencrypt_then_drop_the_old_key(self, keyed, m2m):
        keyed.ENCRYPTION_KEYS = [K1]
        message = notice()
        reload_keys()
        kid = kid_of(token_for(*m2m).json()["access_token"])
        raw_before = raw_column(OutboundMessage, message.pk, "body_text")

        keyed.ENCRYPTION_KEYS = [K2, K1]  # step 1: the new key first, the old one still decrypts
        out = StringIO()
        call_command("rotate_encryption_key", stdout=out)  # step 2
        assert "notifications.OutboundMessage.body_text: re-encrypted 1" in out.getvalue()
        assert "oauth.SigningKey.private_pem: re-encrypted 2" in out.getvalue()  # RS256 + ES256
        assert raw_column(OutboundMessage, message.pk, "body_text") != raw_before
        again = StringIO()
        call_command("rotate_encryption_key", stdout=again)  # idempotent
        assert "Done: re-encrypted 0" in again.getvalue()

        keyed.ENCRYPTION_KEYS = [K2]  # step 3: the old key is gone
        reload_keys()
        assert "secret-link-value" in OutboundMessage.objects.get(pk=message.pk).body_text
        assert kid_of(token_for(*m2m).json()["access_token"]) == kid
        keyed.SECRET_KEY = NEW_SECRET  # and SECRET_KEY no longer matters for stored data
        reload_keys()
        assert "secret-link-value" in OutboundMessage.objects.get(pk=message.pk).body_text
        assert checks.check_stored_keys_readable(databases=["default"]) == []

    def test_rows_written_before_encryption_keys_existed_move_to_them(self, keyed):
        message = notice()  # encrypted with SECRET_KEY (the development default)
        keyed.ENCRYPTION_KEYS = [K1]
        assert "secret-link-value" in OutboundMessage.objects.get(pk=message.pk).body_text
        call_command("rotate_encryption_key", stdout=StringIO())
        keyed.SECRET_KEY = NEW_SECRET
        assert "secret-link-value" in OutboundMessage.objects.get(pk=message.pk).body_text

    def test_dry_run_writes_nothing(self, keyed):
        keyed.ENCRYPTION_KEYS = [K1]
        message = notice()
        raw = raw_column(OutboundMessage, message.pk, "body_text")
        keyed.ENCRYPTION_KEYS = [K2, K1]
        out = StringIO()
        call_command("rotate_encryption_key", "--dry-run", stdout=out)
        assert "would re-encrypt 1" in out.getvalue()
        assert raw_column(OutboundMessage, message.pk, "body_text") == raw

    def test_unreadable_values_are_named_and_left_untouched(self, keyed):
        keyed.ENCRYPTION_KEYS = [K1]
        message = notice()
        raw = raw_column(OutboundMessage, message.pk, "body_text")
        keyed.ENCRYPTION_KEYS = [K2]  # K1 forgotten before re-encrypting
        with pytest.raises(CommandError, match=str(message.pk)):
            call_command("rotate_encryption_key", stdout=StringIO())
        assert raw_column(OutboundMessage, message.pk, "body_text") == raw
        keyed.ENCRYPTION_KEYS = [K2, K1]  # configuring the key again recovers everything
        call_command("rotate_encryption_key", stdout=StringIO())
        keyed.ENCRYPTION_KEYS = [K2]
        assert "secret-link-value" in OutboundMessage.objects.get(pk=message.pk).body_text


class TestClientSecretPepper:
    def test_setting_a_pepper_later_keeps_existing_secrets(self, keyed, m2m):
        keyed.CLIENT_SECRET_PEPPER = "pepper-one-" + "e" * 40  # secrets so far were keyed with SECRET_KEY
        assert token_for(*m2m).status_code == 200

    def test_pepper_rotation_with_fallback(self, keyed, project):
        keyed.CLIENT_SECRET_PEPPER = "pepper-one-" + "e" * 40
        issued = client_create(
            project=project,
            actor=Actor.system(),
            data=ClientInput(name="Peppered", grant_types=["client_credentials"], scopes=["openid"]),
        )
        credentials = (issued.client.client_id, issued.client_secret)
        keyed.CLIENT_SECRET_PEPPER = "pepper-two-" + "f" * 40
        assert token_for(*credentials).status_code == 401
        keyed.CLIENT_SECRET_PEPPER_FALLBACKS = ["pepper-one-" + "e" * 40]
        assert token_for(*credentials).status_code == 200


class TestSystemChecks:
    def ids(self) -> list[str]:
        return [message.id for message in checks.check_key_configuration()]

    def test_production_requires_encryption_keys_and_pepper(self, keyed):
        keyed.PRODUCTION = True
        assert self.ids() == ["identity.E001", "identity.E002"]
        keyed.ENCRYPTION_KEYS = [K1]
        keyed.CLIENT_SECRET_PEPPER = "pepper-" + "g" * 40
        assert self.ids() == []

    def test_development_needs_neither(self, keyed):
        keyed.PRODUCTION = False
        assert self.ids() == []

    @pytest.mark.parametrize(
        ("configuration", "expected"),
        [
            ({"ENCRYPTION_KEYS": [OLD_SECRET]}, "identity.W001"),
            ({"ENCRYPTION_KEYS": [K1, K1]}, "identity.W002"),
            ({"ENCRYPTION_KEYS": ["short"]}, "identity.W003"),
            ({"CLIENT_SECRET_PEPPER": OLD_SECRET}, "identity.W004"),
            ({"SECRET_KEY_FALLBACKS": [OLD_SECRET]}, "identity.W005"),
            (
                {"CLIENT_SECRET_PEPPER": "p" * 40, "CLIENT_SECRET_PEPPER_FALLBACKS": ["p" * 40]},
                "identity.W006",
            ),
        ],
    )
    def test_contradictory_configurations_warn(self, keyed, configuration, expected):
        for name, value in configuration.items():
            setattr(keyed, name, value)
        assert expected in self.ids()

    def test_backoff_beyond_the_visibility_timeout_warns(self, settings):
        settings.OUTBOX_BACKOFF_MAX_SECONDS = 7200
        assert [m.id for m in checks.check_delivery_configuration()] == ["identity.W010"]
        settings.OUTBOX_BACKOFF_MAX_SECONDS = 600
        assert checks.check_delivery_configuration() == []

    def test_check_deploy_fails_in_production_without_the_keys(self):
        env = {k: v for k, v in os.environ.items() if k not in ("ENCRYPTION_KEYS", "CLIENT_SECRET_PEPPER")}
        env.update(
            APP_ENV="production",
            SECRET_KEY="x" * 60,
            DATABASE_URL=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/unused",
            ALLOWED_HOSTS="portal.example.com",
            APP_BASE_URL="https://portal.example.com",
            DJANGO_SETTINGS_MODULE="identity.settings",
        )
        command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode != 0
        assert "identity.E001" in result.stderr and "identity.E002" in result.stderr
        env.update(ENCRYPTION_KEYS=K1, CLIENT_SECRET_PEPPER="pepper-" + "g" * 40)
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
