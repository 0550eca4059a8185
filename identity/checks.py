"""System checks for the deployment's keys and delivery settings (as allauth and DOT do).

`manage.py check --deploy` (and every production start through `migrate`/`runserver`) fails on
errors; warnings name contradictory configurations. `check --database default` also reads the
stored signing keys and reports the ones the configured keys cannot decrypt.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from identity.crypto import configured_encryption_keys, signing_secrets

MIN_KEY_LENGTH = 32


@register(Tags.security, deploy=False)
def check_key_configuration(app_configs=None, **kwargs) -> list:
    messages: list = []
    production = getattr(settings, "PRODUCTION", False)
    encryption_keys = configured_encryption_keys()
    pepper = getattr(settings, "CLIENT_SECRET_PEPPER", "")
    fallbacks = list(getattr(settings, "SECRET_KEY_FALLBACKS", []))
    if production and not encryption_keys:
        messages.append(
            Error(
                "ENCRYPTION_KEYS is not set.",
                hint="Set ENCRYPTION_KEYS to one or more random keys (comma-separated, the first "
                "encrypts), e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'. "
                "Without it, rotating SECRET_KEY makes stored signing keys unreadable.",
                id="identity.E001",
            )
        )
    if production and not pepper:
        messages.append(
            Error(
                "CLIENT_SECRET_PEPPER is not set.",
                hint="Set CLIENT_SECRET_PEPPER to a random key of its own; until then client secrets "
                "are keyed with SECRET_KEY. Existing secrets keep working (SECRET_KEY still verifies).",
                id="identity.E002",
            )
        )
    shared = set(encryption_keys) & set(signing_secrets())
    if shared:
        messages.append(
            Warning(
                "ENCRYPTION_KEYS contains SECRET_KEY or one of SECRET_KEY_FALLBACKS.",
                hint="Use independent keys: rotating SECRET_KEY must not change what decrypts stored data.",
                id="identity.W001",
            )
        )
    if len(set(encryption_keys)) != len(encryption_keys):
        messages.append(
            Warning(
                "ENCRYPTION_KEYS lists the same key twice.", hint="Remove the duplicate.", id="identity.W002"
            )
        )
    short = [index for index, key in enumerate(encryption_keys, start=1) if len(key) < MIN_KEY_LENGTH]
    if short:
        messages.append(
            Warning(
                f"ENCRYPTION_KEYS entry {', '.join(map(str, short))} is shorter than {MIN_KEY_LENGTH} characters.",
                hint="Use random keys of at least 32 characters (secrets.token_urlsafe(48)).",
                id="identity.W003",
            )
        )
    if pepper and pepper in signing_secrets():
        messages.append(
            Warning(
                "CLIENT_SECRET_PEPPER equals SECRET_KEY (or one of its fallbacks).",
                hint="Give the pepper a key of its own so the two can be rotated independently.",
                id="identity.W004",
            )
        )
    if settings.SECRET_KEY in fallbacks:
        messages.append(
            Warning(
                "SECRET_KEY_FALLBACKS contains the current SECRET_KEY.",
                hint="Fallbacks hold previous keys only.",
                id="identity.W005",
            )
        )
    if pepper and pepper in getattr(settings, "CLIENT_SECRET_PEPPER_FALLBACKS", []):
        messages.append(
            Warning(
                "CLIENT_SECRET_PEPPER_FALLBACKS contains the current CLIENT_SECRET_PEPPER.",
                hint="Fallbacks hold previous peppers only.",
                id="identity.W006",
            )
        )
    return messages


@register(Tags.compatibility)
def check_delivery_configuration(app_configs=None, **kwargs) -> list:
    """Retry countdowns longer than the broker's visibility timeout would be delivered twice."""
    from notifications.delivery.registry import delivery_kinds

    visibility = int(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("visibility_timeout", 3600))
    messages: list = []
    for kind in delivery_kinds():
        policy = kind.policy()
        if policy.backoff_max_seconds >= visibility:
            messages.append(
                Warning(
                    f"The {kind.name} delivery backs off up to {policy.backoff_max_seconds:.0f}s, not below "
                    f"the broker's visibility timeout ({visibility}s).",
                    hint="Redis redelivers tasks whose countdown outlives the visibility timeout: keep the "
                    "maximum backoff below it (OUTBOX_BACKOFF_MAX_SECONDS for email).",
                    id="identity.W010",
                )
            )
        if policy.max_attempts < 1:
            messages.append(
                Error(
                    f"The {kind.name} delivery allows {policy.max_attempts} attempts.",
                    hint="At least one attempt (OUTBOX_MAX_ATTEMPTS for email).",
                    id="identity.E010",
                )
            )
    return messages


@register(Tags.database)
def check_stored_keys_readable(app_configs=None, databases=None, **kwargs) -> list:
    """Signing keys the configured keys cannot decrypt (only with `check --database`)."""
    if not databases:
        return []
    from django.db import DatabaseError

    from identity.crypto import is_unreadable, needs_reencryption
    from oauth.models import SigningKey, SigningKeyStatus

    try:
        rows = list(SigningKey.objects.exclude(status=SigningKeyStatus.RETIRED))
        raw = dict(
            SigningKey.objects.exclude(status=SigningKeyStatus.RETIRED).values_list(
                "pk", _raw_column("private_pem")
            )
        )
    except DatabaseError:  # not migrated yet: nothing stored to check
        return []
    unreadable = [row.kid for row in rows if is_unreadable(row.private_pem)]
    stale = [
        row.kid
        for row in rows
        if not is_unreadable(row.private_pem) and needs_reencryption(raw[row.pk], purpose="oidc-signing-key")
    ]
    messages: list = []
    if unreadable:
        messages.append(
            Error(
                f"{len(unreadable)} signing key(s) cannot be decrypted: {', '.join(unreadable)}.",
                hint="Configure the key they were encrypted with in ENCRYPTION_KEYS (or "
                "SECRET_KEY_FALLBACKS for keys written before ENCRYPTION_KEYS was set).",
                id="identity.E003",
            )
        )
    if stale:
        messages.append(
            Warning(
                f"{len(stale)} signing key(s) are not encrypted with the first of ENCRYPTION_KEYS.",
                hint="Run manage.py rotate_encryption_key, then remove the old key from the configuration.",
                id="identity.W007",
            )
        )
    return messages


def _raw_column(name: str):
    """The stored (encrypted) text of a column, without decrypting it."""
    from django.db.models import ExpressionWrapper, F, TextField

    return ExpressionWrapper(F(name), output_field=TextField())
