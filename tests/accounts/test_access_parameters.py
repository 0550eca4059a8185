"""Access parameters (`%name` placeholders of a policy): one grammar, one parser, for the portal
forms and bulk invitations alike."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.forms import InviteForm, MembershipForm
from accounts.services.access_parameters import access_parameters_format, access_parameters_parse
from accounts.services.bulk_invites import _normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("org=Organization/7", {"org": "Organization/7"}),
        ("org=Organization/7\nsite = Location/2 ", {"org": "Organization/7", "site": "Location/2"}),
        ("org=Organization/7;site=Location/2", {"org": "Organization/7", "site": "Location/2"}),
        ("org=Organization/7;\r\n\n site=Location/2;", {"org": "Organization/7", "site": "Location/2"}),
        ("%org=Organization/7", {"org": "Organization/7"}),  # the placeholder spelling of the name
        ("q=a=b", {"q": "a=b"}),  # the first '=' separates
        ("empty=", {"empty": ""}),
        ({"org": "Organization/7", "%n": 3}, {"org": "Organization/7", "n": "3"}),  # JSON rows
        (None, {}),
    ],
)
def test_parse(text, expected):
    assert access_parameters_parse(text) == expected


@pytest.mark.parametrize(
    "text", ["org", "=Organization/7", "org=1;site", "org=1\n=2", {"org": None}, {"org": ["a"]}]
)
def test_syntax_errors(text):
    with pytest.raises(ValidationError) as exc:
        access_parameters_parse(text)
    assert exc.value.code == "parameter_syntax"


def test_error_names_the_entry():
    with pytest.raises(ValidationError) as exc:
        access_parameters_parse("org=1\nsite\nx=2")
    assert "2" in exc.value.messages[0] and "name=value" in exc.value.messages[0]


def test_format_round_trips():
    parameters = {"site": "Location/2", "org": "Organization/7"}
    text = access_parameters_format(parameters)
    assert text == "org=Organization/7\nsite=Location/2"
    assert access_parameters_parse(text) == parameters
    assert access_parameters_format({}) == "" and access_parameters_format(None) == ""


@pytest.mark.parametrize("form_class", [MembershipForm, InviteForm])
def test_portal_forms_accept_both_spellings(project, form_class):
    data = {"role": "member", "email": "new@example.test", "access_parameters": "org=Organization/7;site=X"}
    form = form_class(data, project=project)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["access_parameters"] == {"org": "Organization/7", "site": "X"}


def test_portal_form_reports_syntax(project):
    form = MembershipForm({"role": "member", "access_parameters": "org"}, project=project)
    assert not form.is_valid()
    assert "name=value" in str(form.errors["access_parameters"])


def test_bulk_rows_accept_both_spellings():
    for cell in ("org=Organization/7;site=X", "org=Organization/7\nsite=X"):
        data, errors = _normalise({"email": "a@example.test", "parameters": cell}, {})
        assert not errors and data["access_parameters"] == {"org": "Organization/7", "site": "X"}
    data, errors = _normalise({"email": "a@example.test", "parameters": "org"}, {})
    assert "name=value" in errors["parameters"][0]
