"""Celery tasks of the accounts app: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from accounts.services.bulk_invites import bulk_invite_process


@shared_task(acks_late=True, ignore_result=True)
def process_bulk_invite(job_id: str) -> None:
    bulk_invite_process(job_id=job_id)
