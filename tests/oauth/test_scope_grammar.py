"""The scope grammar (oauth/scopes.py), table-driven from SMART App Launch 2 examples."""

from __future__ import annotations

import pytest

from oauth.scopes import (
    ResourceScope,
    ScopeError,
    resource_scope_narrow,
    resource_scopes_minimal,
    scope_describe,
    scope_parse,
    scopes_parse,
)

R = ResourceScope

VALID = [
    # SMART v2 permissions
    ("patient/Observation.rs", R("patient", "Observation", "rs")),
    ("patient/Observation.r", R("patient", "Observation", "r")),
    ("patient/Observation.s", R("patient", "Observation", "s")),
    ("patient/Observation.c", R("patient", "Observation", "c")),
    ("user/Appointment.cruds", R("user", "Appointment", "cruds")),
    ("user/Appointment.cud", R("user", "Appointment", "cud")),
    ("user/*.cruds", R("user", "*", "cruds")),
    ("user/*.rs", R("user", "*", "rs")),
    ("patient/*.rs", R("patient", "*", "rs")),
    ("system/Patient.rs", R("system", "Patient", "rs")),
    ("system/*.cruds", R("system", "*", "cruds")),
    ("patient/MedicationRequest.crs", R("patient", "MedicationRequest", "crs")),
    ("user/Encounter.ud", R("user", "Encounter", "ud")),
    ("patient/Condition.rds", R("patient", "Condition", "rds")),
    # SMART v1 permissions map to v2
    ("patient/Observation.read", R("patient", "Observation", "rs")),
    ("patient/Observation.write", R("patient", "Observation", "cud")),
    ("patient/Observation.*", R("patient", "Observation", "cruds")),
    ("user/*.read", R("user", "*", "rs")),
    ("user/*.*", R("user", "*", "cruds")),
    ("system/*.write", R("system", "*", "cud")),
    # queries (v2 only)
    (
        "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        R(
            "patient",
            "Observation",
            "rs",
            (("category", "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"),),
        ),
    ),
    (
        "patient/Condition.rs?category=problem-list-item",
        R("patient", "Condition", "rs", (("category", "problem-list-item"),)),
    ),
    (
        "user/Observation.rs?category=vital-signs&status=final",
        R("user", "Observation", "rs", (("category", "vital-signs"), ("status", "final"))),
    ),
    ("user/Patient.rs?role=practitioner", R("user", "Patient", "rs", (("role", "practitioner"),))),
]

NAMED = [
    "openid", "profile", "email", "fhirUser", "launch", "launch/patient", "launch/encounter",
    "offline_access", "online_access", "portal.read", "portal.write",
]  # fmt: skip

MALFORMED = [
    ("patient/Observation.dus", "never delete read loosely from an out-of-order suffix"),
    ("patient/Observation.sr", "out of order"),
    ("patient/Observation.dc", "out of order"),
    ("patient/Observation.srs", "repeated letter"),
    ("patient/Observation.rr", "repeated letter"),
    ("patient/Observation.x", "unknown letter"),
    ("patient/Observation.readx", "not v1"),
    ("patient/Observation.Read", "case matters"),
    ("patient/Observation", "no permissions"),
    ("patient/Observation.", "empty permissions"),
    ("patient/observation.rs", "resource types start with a capital"),
    ("practitioner/Observation.rs", "unknown context"),
    ("Patient/Observation.rs", "context is lower-case"),
    ("patient/*.", "empty permissions"),
    ("patient/Observation.read?category=x", "v1 takes no query"),
    ("patient/Observation.rs?", "empty query"),
    ("patient/Observation.rs?category", "parameter without value"),
    ("patient/Observation.rs?=x", "value without parameter"),
    ("user/Patient.rs?role=a&role=b", "at most one role"),
    ("launch/practitioner", "not a launch scope we know"),
    ("offline", "legacy name not accepted"),
    ("patient/Obs-ervation.rs", "not a resource type"),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[v[0][:60] for v in VALID])
def test_valid_resource_scopes_parse_to_v2(text, expected):
    assert scope_parse(text) == expected


@pytest.mark.parametrize("text", NAMED)
def test_named_scopes_are_known_as_themselves(text):
    assert scope_parse(text) == text


@pytest.mark.parametrize(("text", "why"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_scopes_are_refused_never_read_loosely(text, why):
    with pytest.raises(ScopeError) as raised:
        scope_parse(text)
    assert raised.value.reason


def test_dus_never_grants_delete():
    parsed = scopes_parse("patient/Observation.dus launch/patient")
    assert parsed.resources == [] and parsed.named == ["launch/patient"]
    assert [i.scope for i in parsed.ignored] == ["patient/Observation.dus"]
    assert "cruds" in parsed.ignored[0].reason


def test_v1_and_v2_spellings_are_the_same_scope_and_deduplicated():
    parsed = scopes_parse("patient/Observation.read patient/Observation.rs openid openid")
    assert parsed.as_strings() == ["openid", "patient/Observation.rs"]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("user/*.*", "user/*.cruds"),
        ("patient/Observation.write", "patient/Observation.cud"),
        (
            "patient/Observation.rs?code=http://loinc.org|1234-5",
            "patient/Observation.rs?code=http://loinc.org|1234-5",
        ),
    ],
)
def test_canonical_v2_form(text, canonical):
    assert str(scope_parse(text)) == canonical


@pytest.mark.parametrize(
    ("requested", "allowed", "expected"),
    [
        ("user/*.cruds", "*/Observation.rs", "user/Observation.rs"),
        ("user/Observation.rs", "*/*.cruds", "user/Observation.rs"),
        ("user/Observation.r", "*/Observation.rs", "user/Observation.r"),  # narrower stays narrow
        ("user/Observation.cruds", "*/Observation.rs", "user/Observation.rs"),  # wider is cut
        ("user/Patient.rs", "*/Observation.rs", None),
        ("user/Observation.cd", "*/Observation.rs", None),
        ("patient/Observation.rs", "user/Observation.rs", None),  # contexts differ
        (
            "user/Observation.rs",
            "*/Observation.rs?subject=Patient/1",
            "user/Observation.rs?subject=Patient/1",
        ),
        (  # one parameter, two values: not granted (a server reading one would see more)
            "user/Observation.rs?subject=Patient/9",
            "*/Observation.rs?subject=Patient/1",
            None,
        ),
        (
            "user/Observation.rs?category=laboratory",
            "*/Observation.rs?subject=Patient/1",
            "user/Observation.rs?category=laboratory&subject=Patient/1",
        ),
    ],
)
def test_narrowing(requested, allowed, expected):
    requested_scope = scope_parse(requested)
    allowed_scope = R(*allowed.split("/", 1)[0:1], *_split(allowed.split("/", 1)[1]))
    narrowed = resource_scope_narrow(requested_scope, allowed_scope)
    assert (str(narrowed) if narrowed else None) == expected


def _split(rest: str):
    resource, _, tail = rest.partition(".")
    permissions, _, query = tail.partition("?")
    pairs = tuple(tuple(p.split("=", 1)) for p in query.split("&")) if query else ()
    return resource, permissions, pairs


def test_minimal_drops_covered_scopes():
    scopes = [scope_parse("user/Observation.r"), scope_parse("user/*.rs"), scope_parse("user/Patient.s")]
    assert [str(s) for s in resource_scopes_minimal(scopes)] == ["user/*.rs"]


def test_plain_words():
    assert (
        scope_describe("patient/Observation.rs")
        == "Read and search Observation records about the selected patient"
    )
    assert "including kinds added later" in scope_describe("user/*.cruds")
    assert scope_describe("openid") == "Sign you in with your account"
