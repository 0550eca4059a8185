"""Re-encrypt every encrypted column under the first of ENCRYPTION_KEYS.

Rotation, without downtime:
1. put the new key first: ENCRYPTION_KEYS=new,old (every process reads and writes);
2. run `manage.py rotate_encryption_key` (rows move to `new`; safe to run again);
3. drop `old` from ENCRYPTION_KEYS.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from identity.services.encryption import encryption_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt stored secrets (signing keys, outbox bodies, ...) under the first of ENCRYPTION_KEYS. "
        "Fails, naming the rows, when some cannot be decrypted with any configured key."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; write nothing.")
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args, dry_run: bool, batch_size: int, **options) -> None:
        report = encryption_rotate(dry_run=dry_run, batch_size=batch_size)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        for column in report.columns:
            self.stdout.write(
                f"{column.label}: {verb} {column.rotated}, already current {column.current}, "
                f"unreadable {len(column.unreadable)}"
            )
        if report.unreadable:
            examples = "; ".join(
                f"{column.label} {', '.join(map(str, column.unreadable[:5]))}"
                for column in report.columns
                if column.unreadable
            )
            raise CommandError(
                f"{report.unreadable} value(s) cannot be decrypted with the configured keys ({examples}). "
                "Add the key they were written with to ENCRYPTION_KEYS (or SECRET_KEY_FALLBACKS) and run again."
            )
        self.stdout.write(self.style.SUCCESS(f"Done: {verb} {report.rotated} value(s)."))
