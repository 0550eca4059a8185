"""Brute-force protection: growing delays, then a temporary lock, shared by every process.

The one guard for every step that checks a secret: the password step of sign-in, the MFA step,
set-password links (invitations and resets), password-reset requests and OAuth client
authentication (oauth/client_auth.py). It sits behind allauth's own rate limits
(`ACCOUNT_RATE_LIMITS`), never instead of them.

API (keyword-only; `keys` maps a key kind to a value, e.g. `{ACCOUNT: email, IP: ip}`; empty
values are ignored):

    verdict = attempt_check(scope=SIGN_IN, keys=keys)     # before checking the secret
    if not verdict.allowed: refuse (verdict.retry_after seconds, verdict.locked_until)
    ...check the secret...
    attempt_failed(scope=SIGN_IN, keys=keys, actor=actor)  # wrong secret: counts, may lock
    attempt_succeeded(scope=SIGN_IN, keys={ACCOUNT: email}) # right secret: the account's count
                                                            # starts over (never pass the IP)
    lock_clear(scope=SIGN_IN, keys={ACCOUNT: email})       # end a lock (set-password, admins)
    lock_status(scope=SIGN_IN, keys={ACCOUNT: email})      # locked until when, or None

  Hot callers (OAuth client authentication, many requests a second per client) pass
  `attempt_check(..., reuse_clear=True)` and, once the secret is proved, `attempt_clear_remember`:
  the process then answers "clear" for those keys from memory for `LOCKOUT_CLEAR_REUSE_SECONDS`
  (1 s) after the cache last said so, instead of one Redis round trip per request. The bound: a
  lock or delay made by another process refuses here at most that much later (a failure counted
  by this process forgets the entry at once). Entries are made only for proved secrets, so their
  number is bounded by the registered clients.

- Scopes count separately (`SIGN_IN`, `MFA`, `SET_PASSWORD`, `PASSWORD_RESET`, `CLIENT`); the
  MFA step (accounts/forms_mfa.py) calls `attempt_check/failed/succeeded(scope=MFA,
  keys={ACCOUNT: account_key(user), IP: ip})`. A step without a failure signal (reset requests)
  counts every attempt. Callers: the allauth adapter (password step, re-authentication),
  accounts/forms_mfa.py, views_public.SetPasswordView, federation's ResetPasswordForm,
  oauth/client_auth.py. Refusals read `refusal_message(verdict)` (the same words for any address).
- Per key, failures are counted in a sliding window (`LOCKOUT_WINDOW_SECONDS`, 15 one-slot
  buckets). After `LOCKOUT_FREE_FAILURES` (IP: `LOCKOUT_IP_FREE_FAILURES`) each failure makes
  the next attempt wait `LOCKOUT_DELAY_BASE_SECONDS` doubled per failure, at most
  `LOCKOUT_DELAY_MAX_SECONDS`; nothing sleeps, the caller refuses until then. At
  `LOCKOUT_THRESHOLD` (IP: `LOCKOUT_IP_THRESHOLD`) the key is locked for
  `LOCKOUT_DURATION_SECONDS` and its count starts over.
- The same for addresses with and without an account (the `ACCOUNT` key is the typed, normalised
  address): only the side effects of a lock differ, and no answer shows them. When an account
  of the `SIGN_IN` or `MFA` scope locks: `account.locked` in the audit log of each of its
  projects (one row without a project for an unknown address), and the person gets one email
  per lock with a reset link (accounts/flows/password_reset.py); setting a password through it
  ends the locks of both steps. Admins end locks with `membership_unlock` (`account.unlocked`). A new
  lock of a registered OAuth client is `client.locked` in its project's log.
- Counters live in the Django cache (`LOCKOUT_CACHE`, default `default`): Redis in production,
  shared by every web process and kept across restarts; the embedded default's local-memory
  cache counts per process only. Times come from `identity.clock` (tests move it).
- Values are stored only as keyed hashes (identity/crypto.py), never addresses or IPs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from django.apps import apps
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.app_settings import app_settings
from accounts.models import Membership, Project, User, normalize_email
from accounts.selectors import sign_in_event_projects
from audit.context import Actor, client_ip
from audit.models import AuditAction
from audit.services import audit_record
from identity.clock import clock
from identity.crypto import keyed_hash

logger = logging.getLogger(__name__)

# Scopes: steps that count separately.
SIGN_IN = "sign_in"
MFA = "mfa"
SET_PASSWORD = "set_password"
PASSWORD_RESET = "password_reset"
CLIENT = "client"
# A lock of these scopes is an account lock: audited, the person emailed, shown to admins.
ACCOUNT_LOCK_SCOPES = (SIGN_IN, MFA)
# What an admin's unlock clears for an account.
ACCOUNT_SCOPES = (SIGN_IN, MFA, PASSWORD_RESET)

# Key kinds.
ACCOUNT = "account"  # a normalised email address (or `account_key(user)`)
IP = "ip"
CLIENT_ID = "client"  # an OAuth client_id
LINK = "link"  # a set-password link's id

SLOTS = 15  # buckets of the sliding window
_SALT = "accounts.lockout"


@dataclass(frozen=True)
class Verdict:
    """What `attempt_check` decided: allowed, or refused until `retry_after` seconds from now."""

    allowed: bool = True
    retry_after: int = 0
    locked_until: datetime | None = None  # set when a lock (not a delay) refuses

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


def account_key(user_or_email: User | str | None) -> str:
    """The ACCOUNT key of a user (their address; `user:<id>` without one) or a typed address."""
    if isinstance(user_or_email, User):
        return normalize_email(user_or_email.email) or f"user:{user_or_email.pk}"
    return normalize_email(user_or_email) or ""


def _cache() -> BaseCache:
    return caches[app_settings.LOCKOUT_CACHE]


def _now() -> float:
    return clock.now().timestamp()


def _policy(kind: str) -> tuple[int, int]:
    """(threshold, free failures) of a key kind."""
    if kind == IP:
        return app_settings.LOCKOUT_IP_THRESHOLD, app_settings.LOCKOUT_IP_FREE_FAILURES
    return app_settings.LOCKOUT_THRESHOLD, app_settings.LOCKOUT_FREE_FAILURES


def _slot_seconds() -> int:
    return max(1, app_settings.LOCKOUT_WINDOW_SECONDS // SLOTS)


class _Key:
    __slots__ = ("base", "kind", "value")

    def __init__(self, scope: str, kind: str, value: str) -> None:
        self.kind, self.value = kind, value
        self.base = f"lockout:{scope}:{kind}:{keyed_hash(salt=_SALT, value=f'{kind}:{value}')[:40]}"

    @property
    def lock(self) -> str:
        return f"{self.base}:lock"

    @property
    def wait(self) -> str:
        return f"{self.base}:wait"

    def slot(self, index: int) -> str:
        return f"{self.base}:n:{index}"

    def slots(self, now: float) -> list[str]:
        current = int(now) // _slot_seconds()
        return [self.slot(index) for index in range(current - SLOTS + 1, current + 1)]


def _parse(scope: str, keys: Mapping[str, object | None]) -> list[_Key]:
    parsed = []
    for kind, raw in keys.items():
        if kind == ACCOUNT:
            value = account_key(raw if isinstance(raw, User | str) else None)
        else:
            value = str(raw).strip() if raw is not None else ""
        if value:
            parsed.append(_Key(scope, kind, value[:320]))
    return parsed


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _verdict(parsed: list[_Key], values: Mapping[str, object], now: float) -> Verdict:
    locked_until = 0.0
    wait_until = 0.0
    for key in parsed:
        lock = values.get(key.lock)
        if isinstance(lock, int | float) and lock > now:
            locked_until = max(locked_until, float(lock))
        wait = values.get(key.wait)
        if isinstance(wait, int | float) and wait > now:
            wait_until = max(wait_until, float(wait))
    if locked_until:
        return Verdict(
            allowed=False, retry_after=math.ceil(locked_until - now), locked_until=_at(locked_until)
        )
    if wait_until:
        return Verdict(allowed=False, retry_after=max(1, math.ceil(wait_until - now)))
    return Verdict()


# Per process: (scope, keys) -> until when a clear verdict may be reused (see the module docstring).
_recently_clear: dict[tuple, float] = {}
_RECENTLY_CLEAR_MAX = 10_000  # a safety bound; entries exist only for proved secrets


def _reuse_key(scope: str, keys: Mapping[str, object | None]) -> tuple:
    return (scope, *sorted((kind, str(value)) for kind, value in keys.items() if value))


def attempt_check(*, scope: str, keys: Mapping[str, object | None], reuse_clear: bool = False) -> Verdict:
    """May an attempt be made now? One cache read (all keys' locks and delays at once), or none
    with `reuse_clear` while a clear verdict remembered by `attempt_clear_remember` is fresh."""
    if reuse_clear and _recently_clear.get(_reuse_key(scope, keys), 0.0) > _now():
        return Verdict()
    parsed = _parse(scope, keys)
    if not parsed:
        return Verdict()
    names = [name for key in parsed for name in (key.lock, key.wait)]
    return _verdict(parsed, _cache().get_many(names), _now())


def _count_failure(key: _Key, now: float) -> int:
    """Count one failure in the current bucket (atomic: INCR in Redis); the window's total."""
    cache = _cache()
    slot = key.slot(int(now) // _slot_seconds())
    ttl = app_settings.LOCKOUT_WINDOW_SECONDS + _slot_seconds()
    for _attempt in range(3):  # the bucket may expire between add and incr
        cache.add(slot, 0, ttl)
        try:
            cache.incr(slot)
            break
        except ValueError:
            continue
    counts = cache.get_many(key.slots(now))
    return sum(int(value) for value in counts.values() if isinstance(value, int))


def _lock(key: _Key, now: float) -> float | None:
    """Lock `key`; its lock-until time when this call made the lock (exactly one caller does)."""
    cache = _cache()
    duration = app_settings.LOCKOUT_DURATION_SECONDS
    until = now + duration
    if not cache.add(key.lock, until, duration):
        current = cache.get(key.lock)
        if isinstance(current, int | float) and current > now:
            return None  # another process locked it first
        # Expired by the application clock while the cache entry lives on (a moved test clock).
        cache.set(key.lock, until, duration)
    cache.delete_many([*key.slots(now), key.wait])  # after the lock, counting starts over
    return until


def attempt_clear_remember(*, scope: str, keys: Mapping[str, object | None]) -> None:
    """The caller passed `attempt_check(..., reuse_clear=True)` and then proved its secret: this
    process may answer "clear" for these keys without the cache for `LOCKOUT_CLEAR_REUSE_SECONDS`.
    An entry still fresh is not extended, so the cache is read again at least that often."""
    seconds = app_settings.LOCKOUT_CLEAR_REUSE_SECONDS
    if seconds <= 0:
        return
    key, now = _reuse_key(scope, keys), _now()
    if _recently_clear.get(key, 0.0) > now:
        return
    if len(_recently_clear) >= _RECENTLY_CLEAR_MAX:
        _recently_clear.clear()
    _recently_clear[key] = now + seconds


def attempt_clear_forget() -> None:
    """Forget every remembered clear verdict of this process (tests; a cache flushed by hand)."""
    _recently_clear.clear()


def attempt_failed(*, scope: str, keys: Mapping[str, object | None], actor: Actor | None = None) -> Verdict:
    """Count a failed attempt for each key; delay or lock the keys that reached their limits.

    Returns what `attempt_check` now says. A new lock of an account in `ACCOUNT_LOCK_SCOPES` is
    audited and emailed once (`_account_locked`); other new locks are logged.
    """
    _recently_clear.pop(_reuse_key(scope, keys), None)
    now = _now()
    delay_base = app_settings.LOCKOUT_DELAY_BASE_SECONDS
    for key in _parse(scope, keys):
        threshold, free = _policy(key.kind)
        failures = _count_failure(key, now)
        if failures >= threshold:
            until = _lock(key, now)
            if until is None:
                continue
            logger.warning("lockout: %s %s locked for %ss", scope, key.kind, int(until - now))
            if key.kind == ACCOUNT and scope in ACCOUNT_LOCK_SCOPES:
                _account_locked(scope=scope, address=key.value, locked_until=_at(until), actor=actor)
            elif key.kind == CLIENT_ID:
                _client_locked(client_id=key.value, locked_until=_at(until), actor=actor)
        elif failures > free and delay_base > 0:
            delay = min(app_settings.LOCKOUT_DELAY_MAX_SECONDS, delay_base * 2 ** (failures - free - 1))
            if delay > 0:
                _cache().set(key.wait, now + delay, math.ceil(delay) + 1)
    return attempt_check(scope=scope, keys=keys)


def attempt_succeeded(*, scope: str, keys: Mapping[str, object | None]) -> None:
    """A right secret: the count of these keys starts over. Pass the account (client, link), not
    the IP: an attacker's own successful sign-ins must not reset their IP's count."""
    now = _now()
    names = [name for key in _parse(scope, keys) for name in (*key.slots(now), key.wait)]
    if names:
        _cache().delete_many(names)


def lock_clear(*, scope: str, keys: Mapping[str, object | None]) -> bool:
    """End the locks and delays of these keys and start their counts over. Was one locked?"""
    now = _now()
    parsed = _parse(scope, keys)
    if not parsed:
        return False
    was_locked = attempt_check(scope=scope, keys=keys).locked
    _cache().delete_many([name for key in parsed for name in (key.lock, *key.slots(now), key.wait)])
    return was_locked


def lock_status(*, scope: str, keys: Mapping[str, object | None]) -> datetime | None:
    """Until when these keys are locked (the latest), or None."""
    return attempt_check(scope=scope, keys=keys).locked_until


def account_locked_until(*, user: User) -> datetime | None:
    """Until when the user's sign-in (password or MFA step) is locked, or None (the user page)."""
    times = [
        until
        for scope in ACCOUNT_LOCK_SCOPES
        if (until := lock_status(scope=scope, keys={ACCOUNT: account_key(user)})) is not None
    ]
    return max(times) if times else None


# --- What entry points answer ----------------------------------------------------------------------


def refusal_message(verdict: Verdict) -> str:
    """The answer to a refused attempt: the same words whether the account exists or not."""
    if verdict.locked:
        minutes = max(1, math.ceil(verdict.retry_after / 60))
        return ngettext(
            "Too many failed attempts. Try again in %(count)d minute.",
            "Too many failed attempts. Try again in %(count)d minutes.",
            minutes,
        ) % {"count": minutes}
    return ngettext(
        "Too many failed attempts. Try again in %(count)d second.",
        "Too many failed attempts. Try again in %(count)d seconds.",
        verdict.retry_after,
    ) % {"count": verdict.retry_after}


# allauth's adapter renders refusals from its error_messages (accounts/adapters.py).
SIGN_IN_REFUSALS = {"too_many_failed_attempts": _("%s")}


def sign_in_refusal(verdict: Verdict) -> tuple[str, str]:
    """(code, argument) for allauth's `adapter.validation_error`."""
    return "too_many_failed_attempts", refusal_message(verdict)


def sign_in_keys(request: HttpRequest | None, credentials: Mapping[str, object]) -> dict[str, object | None]:
    """The keys of a password sign-in: the typed address and the caller's IP."""
    login = credentials.get("email") or credentials.get("username")
    return {ACCOUNT: login if isinstance(login, str) else None, IP: client_ip(request) if request else None}


@transaction.atomic
def _account_locked(*, scope: str, address: str, locked_until: datetime, actor: Actor | None) -> None:
    """A new account lock: `account.locked` in each of the user's projects' logs (one row without
    a project for an unknown address) and, for a real account, one email with a reset link."""
    from accounts.flows.password_reset import account_locked_notify

    user = User.objects.filter(email=address).first() if "@" in address else None
    if user is None and address.startswith("user:"):
        user = User.objects.filter(pk=address.removeprefix("user:")).first()
    # The user's projects' logs (`sign_in_event_projects`, the one rule for sign-in events).
    projects: list[Project | None] = [*sign_in_event_projects(request=None, user=user)] or [None]
    for project in projects:
        audit_record(
            action=AuditAction.ACCOUNT_LOCKED,
            actor=actor,
            project=project,
            target=user,
            target_label="" if user is not None else address,
            details={"scope": scope, "locked_until": locked_until.isoformat()},
        )
    if user is not None:
        account_locked_notify(
            user=user, locked_until=locked_until, step="mfa" if scope == MFA else "password"
        )


def _client_locked(*, client_id: str, locked_until: datetime, actor: Actor | None) -> None:
    """A new lock of a registered OAuth client: `client.locked` in its project's log, so its
    admins can tell why it gets `invalid_client` (the client itself is told nothing more)."""
    client = apps.get_model("oauth", "Client").objects.filter(client_id=client_id).first()  # no oauth import
    if client is not None:
        audit_record(
            action=AuditAction.CLIENT_LOCKED,
            actor=actor,
            project=client.project,
            target=client,
            details={"locked_until": locked_until.isoformat()},
        )


@transaction.atomic
def membership_unlock(*, membership: Membership, actor: Actor) -> bool:
    """A project admin ends the member's sign-in lock (and delays) at once; audited as
    `account.unlocked` in the project's log. Returns whether the account was locked."""
    user = membership.user
    was_locked = False
    for scope in ACCOUNT_SCOPES:
        was_locked |= lock_clear(scope=scope, keys={ACCOUNT: account_key(user)})
    audit_record(
        action=AuditAction.ACCOUNT_UNLOCKED,
        actor=actor,
        project=membership.project,
        target=user,
        details={"was_locked": was_locked, "membership": str(membership.pk)},
    )
    return was_locked
