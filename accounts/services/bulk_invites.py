"""Bulk invitations: validate every row up front, then invite in the background with progress."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.app_settings import app_settings
from accounts.models import AccessPolicy, BulkInvite, BulkInviteStatus, Project, Role, normalize_email
from accounts.services.access_parameters import access_parameters_parse
from accounts.services.invitations import (
    ALREADY_MEMBER,
    InviteInput,
    InviteResult,
    invitations_create_many,
    invite_input_errors,
)
from audit.context import Actor
from audit.models import AuditAction
from audit.services import audit_record
from identity.clock import clock
from identity.errors import ApplicationError

logger = logging.getLogger(__name__)

CSV_COLUMNS = (
    "email",
    "external_id",
    "first_name",
    "last_name",
    "role",
    "access_policy",
    "parameters",
    "profile",
)


def bulk_invite_parse_csv(content: bytes) -> list[dict[str, str]]:
    """Rows of a CSV file (UTF-8, header row; columns in CSV_COLUMNS, `email` or `external_id` required)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            "The file is not UTF-8 text.", fields={"file": ["Save the file as UTF-8 CSV."]}
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header or not ({"email", "external_id"} & set(header)):
        raise ApplicationError(
            "The CSV needs a header row with an email or external_id column.",
            fields={"file": [f"Known columns: {', '.join(CSV_COLUMNS)}."]},
        )
    unknown = sorted(set(header) - set(CSV_COLUMNS))
    if unknown:
        raise ApplicationError(
            f"Unknown column(s): {', '.join(unknown)}.",
            fields={"file": [f"Known columns: {', '.join(CSV_COLUMNS)}."]},
        )
    reader.fieldnames = header
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _normalise(row: dict, policies: dict[str, AccessPolicy]) -> tuple[dict, dict[str, list[str]]]:
    data = {
        "email": normalize_email(row.get("email")) or "",
        "external_id": str(row.get("external_id") or "").strip(),
        "first_name": str(row.get("first_name") or "").strip(),
        "last_name": str(row.get("last_name") or "").strip(),
        "role": str(row.get("role") or Role.MEMBER).strip().lower(),
        "profile": str(row.get("profile") or "").strip(),
        "access_policy": None,
        "access_parameters": {},
    }
    errors = invite_input_errors(
        InviteInput(**{k: data[k] for k in ("email", "external_id", "first_name", "last_name", "role")})
    )
    policy_ref = str(row.get("access_policy") or "").strip()
    if policy_ref:
        policy = policies.get(policy_ref.lower())
        if policy is None:
            errors["access_policy"] = [f"No access policy {policy_ref!r} in this project."]
        else:
            data["access_policy"] = str(policy.pk)
    try:
        data["access_parameters"] = access_parameters_parse(
            row.get("parameters", row.get("access_parameters"))
        )
    except ValidationError as error:
        errors["parameters"] = error.messages
    return data, errors


def bulk_invite_start(
    *, project: Project, actor: Actor, rows: list[dict], source_name: str = "", send_email: bool = True
) -> tuple[BulkInvite, bool]:
    """Validate all rows, then queue the valid ones. Returns (job, created).

    Bad rows are reported and never processed. Submitting the same rows again
    returns the first job (`created` False) instead of inviting twice.
    """
    if not rows:
        raise ApplicationError("There is nothing to invite.", fields={"rows": ["Add at least one row."]})
    if len(rows) > app_settings.BULK_INVITE_MAX_ROWS:
        raise ApplicationError(
            f"At most {app_settings.BULK_INVITE_MAX_ROWS} rows per upload.",
            fields={"rows": ["Split the file."]},
        )
    policies: dict[str, AccessPolicy] = {}
    for policy in AccessPolicy.objects.filter(project=project):
        policies[policy.name.lower()] = policy
        policies[str(policy.pk)] = policy
    valid, invalid, seen = [], [], {}
    for number, raw in enumerate(rows, start=1):
        data, errors = _normalise(raw if isinstance(raw, dict) else {}, policies)
        key = data["email"] or f"ext:{data['external_id']}"
        if not errors and key in seen:
            errors = {"email": [f"Duplicate of row {seen[key]}."]}
        if errors:
            invalid.append(
                {"row": number, "fields": errors, "email": data["email"], "external_id": data["external_id"]}
            )
            continue
        seen[key] = number
        valid.append({"row": number, **data})
    # The same rows submitted again on the same (UTC) day are the same job; a later day may re-run them.
    day = clock.now().date().isoformat()
    digest = hashlib.sha256(
        json.dumps(
            {"rows": valid, "invalid": invalid, "send_email": send_email, "day": day}, sort_keys=True
        ).encode()
    ).hexdigest()
    existing = BulkInvite.objects.filter(project=project, content_hash=digest).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            job = BulkInvite.objects.create(
                project=project,
                created_by=actor.user,
                created_by_client_id=actor.client_id,
                source_name=source_name[:255],
                content_hash=digest,
                send_email=send_email,
                rows=valid,
                invalid_rows=invalid,
                total=len(valid),
                status=BulkInviteStatus.QUEUED if valid else BulkInviteStatus.DONE,
                finished_at=None if valid else clock.now(),
            )
            audit_record(
                action=AuditAction.BULK_INVITE_STARTED,
                actor=actor,
                project=project,
                target=job,
                target_label=source_name or "bulk invite",
                details={"valid_rows": len(valid), "invalid_rows": len(invalid)},
            )
            if valid:
                job_id = job.pk
                transaction.on_commit(lambda: _publish(job_id))
    except IntegrityError:  # the same file submitted twice at the same moment
        return BulkInvite.objects.get(project=project, content_hash=digest), False
    return job, True


def _publish(job_id) -> bool:
    from accounts.tasks import process_bulk_invite

    try:
        process_bulk_invite.delay(str(job_id))
    except (KombuOperationalError, OSError) as exc:  # broker down: bulk_invite_resume_stalled() picks it up
        logger.warning(
            "bulk invite %s could not be queued (%s); the relay resumes it", job_id, exc.__class__.__name__
        )
        return False
    except Exception:
        # Tasks run in-process (no broker configured) and this one failed: it was published,
        # and a job that keeps failing is stopped by the resume count, not retried forever.
        logger.exception("bulk invite %s failed while processing in-process", job_id)
    return True


def bulk_invite_resume_stalled(*, limit: int = 100) -> int:
    """Publish again the jobs that are queued or running but made no progress for
    BULK_INVITE_STALL_SECONDS: their publish failed (broker down) or their worker died.

    Runs on every relay pass (a relay hook, see AccountsConfig.ready). Publishing a job that
    is in fact still running is harmless: chunks are taken under a row lock and a job resumes
    at `processed`, so two workers never invite the same row. Returns how many were published.
    """
    stalled_since = clock.now() - timedelta(seconds=app_settings.BULK_INVITE_STALL_SECONDS)
    job_ids = list(
        BulkInvite.objects.filter(
            status__in=[BulkInviteStatus.QUEUED, BulkInviteStatus.RUNNING], updated_at__lt=stalled_since
        )
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    published = 0
    for job_id in job_ids:
        if not _resume_allowed(job_id):
            continue
        if not _publish(job_id):
            break  # broker still down: the next relay pass tries again (not counted against the job)
        _count_resume(job_id)
        published += 1
    return published


def _resume_allowed(job_id) -> bool:
    """False (and the job failed, with the reason) once it was resumed BULK_INVITE_MAX_RESUMES
    times without processing a row: its worker keeps dying on it, and republishing it on every
    relay pass forever would hide that."""
    with transaction.atomic():
        job = BulkInvite.objects.select_for_update().get(pk=job_id)
        if job.processed > job.processed_at_resume:
            return True  # progress since the last resume: the count starts again in _count_resume
        if job.resume_count < app_settings.BULK_INVITE_MAX_RESUMES:
            return True
        job.status = BulkInviteStatus.FAILED
        job.finished_at = clock.now()
        job.last_error = (
            f"Stopped after {job.resume_count} restarts without progress at row {job.processed + 1}: "
            "the worker keeps failing on this job. Check the worker logs, then submit the remaining rows again."
        )
        job.save(update_fields=["status", "finished_at", "last_error", "updated_at"])
        logger.error("bulk invite %s failed: %s", job_id, job.last_error)
        return False


def _count_resume(job_id) -> None:
    with transaction.atomic():
        job = BulkInvite.objects.select_for_update().get(pk=job_id)
        job.resume_count = 1 if job.processed > job.processed_at_resume else job.resume_count + 1
        job.processed_at_resume = job.processed
        job.save(update_fields=["resume_count", "processed_at_resume", "updated_at"])


def _invite_rows(job: BulkInvite, rows: list[dict], actor: Actor, policies: dict) -> list[dict]:
    """Invite a chunk's rows (`invitations_create_many`: the same outcome per row as
    `invitation_create` one at a time, new people written a table at a time) and report each."""
    invites = [
        InviteInput(
            email=row["email"],
            external_id=row["external_id"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            role=row["role"],
            access_policy=policies.get(row["access_policy"]) if row["access_policy"] else None,
            access_parameters=row["access_parameters"],
            profile=row["profile"],
            send_email=job.send_email,
        )
        for row in rows
    ]
    outcomes = invitations_create_many(project=job.project, actor=actor, invites=invites)
    return [_row_result(row, outcome) for row, outcome in zip(rows, outcomes, strict=True)]


def _row_result(row: dict, outcome: InviteResult | ApplicationError) -> dict:
    if isinstance(outcome, ApplicationError):
        return {
            "row": row["row"],
            "email": row["email"],
            "outcome": "exists" if outcome.code == ALREADY_MEMBER else "error",
            "message": outcome.message,
            "fields": outcome.fields,
        }
    return {"row": row["row"], "email": row["email"], "outcome": outcome.outcome}


def bulk_invite_process(*, job_id) -> BulkInvite:
    """Work through a job chunk by chunk. Each chunk and its progress commit together, so a
    worker that dies mid-chunk leaves no half-done rows and a rerun continues where it stopped."""
    job = BulkInvite.objects.select_related("project", "created_by").get(pk=job_id)
    if job.is_finished:
        return job
    if job.status == BulkInviteStatus.QUEUED:
        BulkInvite.objects.filter(pk=job.pk).update(
            status=BulkInviteStatus.RUNNING, started_at=clock.now(), updated_at=clock.now()
        )
    actor = Actor(user=job.created_by, client_id=job.created_by_client_id)
    policies = {
        str(p.pk): p for p in AccessPolicy.objects.filter(project=job.project).prefetch_related("rules")
    }
    chunk = app_settings.BULK_INVITE_CHUNK_SIZE
    project, rows = job.project, job.rows  # the rows never change once the job exists: read once
    while True:
        with transaction.atomic():
            job = BulkInvite.objects.select_for_update().defer("rows", "invalid_rows").get(pk=job.pk)
            job.project = project
            if job.processed >= job.total:
                break
            batch = rows[job.processed : job.processed + chunk]
            results = _invite_rows(job, batch, actor, policies)
            job.results = [*job.results, *results]
            job.processed += len(batch)
            job.save(update_fields=["results", "processed", "updated_at"])
    BulkInvite.objects.filter(pk=job.pk).update(status=BulkInviteStatus.DONE, finished_at=clock.now())
    job.refresh_from_db()
    return job


def bulk_invite_summary(job: BulkInvite) -> dict[str, int]:
    counts = {"invited": 0, "added": 0, "updated": 0, "exists": 0, "error": 0}
    for result in job.results:
        counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
    counts["invalid"] = len(job.invalid_rows)
    return counts
