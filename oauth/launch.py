"""SMART launch context: which patient (and encounter) a token is about.

- **EHR launch**: the project's resource server registers the context (`launch_context_create`,
  `POST /api/v1/projects/{id}/launch-contexts/`) and gets an opaque, single-use, short-lived
  `launch`; the app sends it to /o/authorize with the `launch` scope; the code, then the token
  response, carry `patient` / `encounter`.
- **Standalone launch** (`launch/patient`): the patient is the user's own (a Patient profile)
  or one of the patients their access parameters name, chosen on the consent page.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from audit.context import Actor
from identity.clock import clock
from identity.errors import ApplicationError
from oauth.models import LaunchContext
from oauth.tokens import token_checksum

LAUNCH_TTL_SECONDS = 300
FHIR_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class LaunchError(Exception):
    """The `launch` value cannot be used (unknown, another project's, used or expired)."""


@dataclass(frozen=True)
class IssuedLaunch:
    context: LaunchContext
    launch: str  # shown once, never stored


def _fhir_id(value: str, field: str, errors: dict) -> str:
    value = (value or "").strip()
    if value.startswith(("Patient/", "Encounter/")):
        value = value.split("/", 1)[1]
    if value and not FHIR_ID_RE.match(value):
        errors[field] = ["A FHIR id: letters, digits, '-' and '.', at most 64."]
    return value


@transaction.atomic
def launch_context_create(*, project, actor: Actor, patient: str = "", encounter: str = "") -> IssuedLaunch:
    errors: dict[str, list[str]] = {}
    patient = _fhir_id(patient, "patient", errors)
    encounter = _fhir_id(encounter, "encounter", errors)
    if not patient and not encounter and not errors:
        errors["patient"] = ["Give a patient, an encounter, or both."]
    if errors:
        raise ApplicationError("The launch context is not valid.", fields=errors)
    launch = secrets.token_urlsafe(32)
    context = LaunchContext.objects.create(
        project=project,
        launch_checksum=token_checksum(launch),
        patient=patient,
        encounter=encounter,
        created_by=actor.label[:255],
        expires_at=clock.now() + timedelta(seconds=LAUNCH_TTL_SECONDS),
    )
    return IssuedLaunch(context=context, launch=launch)


def launch_context_find(*, project, launch: str) -> LaunchContext:
    """The usable context behind `launch` for `project`; LaunchError otherwise (no detail leaks)."""
    context = LaunchContext.objects.filter(
        project=project,
        launch_checksum=token_checksum(launch or ""),
        used_at__isnull=True,
        expires_at__gt=clock.now(),
    ).first()
    if context is None:
        raise LaunchError("The launch is unknown, expired or already used.")
    return context


def launch_context_consume(*, project, launch: str) -> LaunchContext:
    """Use the context up (one code per launch): of two concurrent uses exactly one wins."""
    context = launch_context_find(project=project, launch=launch)
    claimed = LaunchContext.objects.filter(pk=context.pk, used_at__isnull=True).update(used_at=clock.now())
    if claimed != 1:
        raise LaunchError("The launch is unknown, expired or already used.")
    return context


def standalone_patients(*, user, project) -> list[str]:
    """Patient ids a user may pick for a standalone `launch/patient`: their own Patient profile,
    then every `Patient/<id>` their access parameters name (no duplicates)."""
    from accounts.models import Membership

    membership = Membership.objects.filter(user=user, project=project, is_active=True).first()
    if membership is None:
        return []
    references = [membership.profile, *(str(v) for v in (membership.access_parameters or {}).values())]
    patients = []
    for reference in references:
        if (
            reference.startswith("Patient/")
            and FHIR_ID_RE.match(reference[8:])
            and reference[8:] not in patients
        ):
            patients.append(reference[8:])
    return patients
