"""Bulk invite benchmark on PostgreSQL: invites per second and database queries per invite.

    python bench/bulk_invite.py [--rows 1000]

Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/identity_bench_invites; dropped and
re-created). Each invite writes the user, allauth's email address, the membership, the set-password link,
the outbox email and the audit events, exactly as in production; the email is handed to the broker (an
in-memory one here). Then every email of the batch is delivered the way the worker does
(notifications' delivery, to Django's in-memory email backend) and counted: each invitee's exactly
once, every message marked sent. Saves bench/results/bulk_invite.json.
It runs a small batch and a large one: the queries per invite must not grow with the batch.
Besides the wall clock it reports this process's CPU per invite and the load average when the batch
started: on a shared machine the invites/s move with the others' load, the CPU and statements less.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_django(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        DJANGO_SETTINGS_MODULE="identity.settings", DATABASE_URL=database_url, LOG_LEVEL="WARNING"
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_batch(project, owner, rows: int, tag: str) -> dict:
    from django.db import connection

    from accounts.services.bulk_invites import bulk_invite_process, bulk_invite_start
    from audit.context import Actor

    data = [
        {"email": f"{tag}-{n}@bench.example", "first_name": "Bench", "last_name": str(n)} for n in range(rows)
    ]
    actor = Actor(user=owner)
    counted = {"statements": 0}

    def count(execute, sql, params, many, context):
        counted["statements"] += 1
        return execute(sql, params, many, context)

    load = os.getloadavg()[0]
    cpu_started, started = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(count):  # counts every statement, savepoints included
        job, _ = bulk_invite_start(project=project, actor=actor, rows=data, source_name=tag)
        job = bulk_invite_process(job_id=job.pk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    queries = [None] * counted["statements"]
    invited = sum(1 for r in job.results if r["outcome"] == "invited")
    assert invited == rows, f"only {invited} of {rows} invited"
    delivered, delivery_seconds = deliver_all(tag)
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "invites_per_s": round(rows / seconds, 1),
        "queries": len(queries),
        "queries_per_invite": round(len(queries) / rows, 2),
        "cpu_ms_per_invite": round(cpu * 1000 / rows, 2),
        "load_average": round(load, 2),
        "delivered": delivered,
        "delivered_per_s": round(delivered / delivery_seconds, 1) if delivery_seconds else 0,
    }


def deliver_all(tag: str) -> tuple[int, float]:
    """Send every invitation email of the batch as the worker does (notifications' delivery, one
    task per message; Django's in-memory email backend stands in for the ESP), then count the
    emails that left: each invitee's exactly once, every message marked sent."""
    from django.core import mail

    from notifications.models import MessageStatus, OutboundMessage
    from notifications.services import message_deliver

    messages = list(
        OutboundMessage.objects.filter(to_email__startswith=f"{tag}-").values_list("pk", flat=True)
    )
    mail.outbox = []
    started = time.perf_counter()
    for message_id in messages:
        message_deliver(message_id=message_id)
    seconds = time.perf_counter() - started
    recipients = [address for email in mail.outbox for address in email.to]
    assert len(recipients) == len(set(recipients)) == len(messages), "an email was lost or sent twice"
    unsent = OutboundMessage.objects.filter(pk__in=messages).exclude(status=MessageStatus.SENT).count()
    assert unsent == 0, f"{unsent} messages not marked sent"
    return len(recipients), seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1000)
    args, _unknown = parser.parse_known_args()  # make bench passes one BENCH_ARGS to every script
    setup_django(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/identity_bench_invites")
    )
    from django.conf import settings

    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # counted, not sent
    from identity.celery import app

    app.conf.update(task_always_eager=False, broker_url="memory://")  # publish, do not send in-process
    from accounts.services import project_create, user_get_or_create

    owner, _ = user_get_or_create(email="owner@bench.example", email_verified=True)
    project = project_create(name="Bench invites", owner=owner)
    small = run_batch(project, owner, max(args.rows // 10, 10), "small")
    large = run_batch(project, owner, args.rows, "large")
    print("\nBulk invite benchmark (PostgreSQL, in-process service calls, email handed to the broker,")
    print("then every email delivered as the worker does, to Django's in-memory email backend)\n")
    print(
        "| batch | rows | seconds | invites/s | queries | queries/invite | CPU ms/invite | load | "
        "emails delivered | deliveries/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in (("small", small), ("large", large)):
        print(
            f"| {label} | {r['rows']} | {r['seconds']} | {r['invites_per_s']} | {r['queries']} | "
            f"{r['queries_per_invite']} | {r['cpu_ms_per_invite']} | {r['load_average']} | "
            f"{r['delivered']} of {r['rows']} | {r['delivered_per_s']} |"
        )
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "bulk_invite.json").write_text(json.dumps({"small": small, "large": large}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
