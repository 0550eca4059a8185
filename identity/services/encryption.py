"""Re-encryption of stored secrets after an ENCRYPTION_KEYS rotation (see identity/crypto.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import ExpressionWrapper, F, TextField, Value

from identity.crypto import UndecryptableError, encrypted_fields, needs_reencryption, reencrypt


@dataclass
class ColumnReport:
    label: str
    rotated: int = 0
    current: int = 0
    unreadable: list = field(default_factory=list)


@dataclass
class RotationReport:
    columns: list[ColumnReport]

    @property
    def rotated(self) -> int:
        return sum(column.rotated for column in self.columns)

    @property
    def unreadable(self) -> int:
        return sum(len(column.unreadable) for column in self.columns)


def encryption_rotate(*, dry_run: bool = False, batch_size: int = 500) -> RotationReport:
    """Move every encrypted value to the first key. Idempotent; unreadable values are reported,
    never overwritten (the ciphertext stays as it is, so configuring the right key recovers it)."""
    report = RotationReport(columns=[])
    for model, encrypted in encrypted_fields():
        column = ColumnReport(label=f"{model._meta.label}.{encrypted.name}")
        report.columns.append(column)
        raw = ExpressionWrapper(F(encrypted.name), output_field=TextField())  # ciphertext, not decrypted
        rows = (
            model._default_manager.exclude(**{encrypted.name: ""})
            .order_by("pk")
            .values_list("pk", raw)
            .iterator(chunk_size=batch_size)
        )
        batch: list[tuple[object, str, str]] = []
        for pk, token in rows:
            if not token:
                continue
            if not needs_reencryption(token, purpose=encrypted.purpose):
                column.current += 1
                continue
            try:
                batch.append((pk, token, reencrypt(token, purpose=encrypted.purpose)))
            except UndecryptableError:
                column.unreadable.append(pk)
                continue
            if len(batch) >= batch_size:
                column.rotated += _write(model, encrypted.name, batch, dry_run=dry_run)
                batch = []
        column.rotated += _write(model, encrypted.name, batch, dry_run=dry_run)
    return report


def _write(model, name: str, batch: list[tuple[object, str, str]], *, dry_run: bool) -> int:
    if dry_run or not batch:
        return len(batch)
    with transaction.atomic():
        written = 0
        for pk, old_token, token in batch:
            # Only if the row still holds what was read: a concurrent edit is never overwritten
            # (it was encrypted under the first key anyway). Values are written as is.
            written += model._default_manager.filter(
                pk=pk, **{name: Value(old_token, output_field=TextField())}
            ).update(**{name: Value(token, output_field=TextField())})
    return written
