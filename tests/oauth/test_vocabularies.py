"""Grant types and signing algorithms have one source each (oauth/constants.py); every list agrees."""

from __future__ import annotations

from django.conf import settings

from oauth.api import ClientInputSerializer
from oauth.constants import GrantType, SigningAlgorithm
from oauth.forms import ClientForm
from oauth.management.commands.rotate_signing_key import Command as RotateSigningKey
from oauth.models import Client, SigningKey
from oauth.server import Server
from oauth.validators import Validator
from oauth.views import discovery_document


def test_grant_types(db):
    assert list(GrantType.values) == ["authorization_code", "client_credentials", "refresh_token"]
    assert discovery_document()["grant_types_supported"] == list(GrantType.values)
    assert settings.OAUTH2_PROVIDER["OAUTH2_GRANT_TYPES_SUPPORTED"] == list(GrantType.values)
    assert set(Server(Validator()).grant_types) == set(GrantType.values)
    assert set(ClientInputSerializer().fields["grant_types"].child.choices) == set(GrantType.values)
    assert ClientForm(project=None).fields["grant_types"].choices == list(GrantType.choices)


def test_signing_algorithms(db):
    assert list(SigningAlgorithm.values) == ["RS256", "ES256"]
    assert discovery_document()["id_token_signing_alg_values_supported"] == list(SigningAlgorithm.values)
    assert list(Client._meta.get_field("algorithm").choices)[1:] == list(SigningAlgorithm.choices)
    assert list(SigningKey._meta.get_field("algorithm").choices) == list(SigningAlgorithm.choices)
    assert set(ClientInputSerializer().fields["algorithm"].choices) == set(SigningAlgorithm.values)
    assert ClientForm(project=None).fields["algorithm"].choices == list(SigningAlgorithm.choices)
    parser = RotateSigningKey().create_parser("manage.py", "rotate_signing_key")
    (option,) = [action for action in parser._actions if action.dest == "algorithm"]
    assert list(option.choices) == list(SigningAlgorithm.values)


def test_the_models_module_reexports_the_one_grant_type():
    from oauth import models

    assert models.GrantType is GrantType
