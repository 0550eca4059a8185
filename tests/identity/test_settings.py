"""Configuration: production refuses unsafe starts; security-relevant defaults stay put."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hashers

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "x" * 60,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/identity_unused",
    "ALLOWED_HOSTS": "portal.example.com",
    "APP_BASE_URL": "https://portal.example.com",
}


def start_django(env_overrides: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "REDIS_URL"}
    env.update({k: v for k, v in env_overrides.items() if v is not None})
    env["DJANGO_SETTINGS_MODULE"] = "identity.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_start_without_secret_key_fails_clearly():
    result = start_django({**PRODUCTION_ENV, "SECRET_KEY": None})
    assert result.returncode != 0
    assert "refuses to start without SECRET_KEY" in result.stderr
    assert "started" not in result.stdout


def test_production_names_every_missing_variable():
    result = start_django({"APP_ENV": "production"})
    assert result.returncode != 0
    for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "APP_BASE_URL"):
        assert name in result.stderr


def test_production_starts_when_configured():
    result = start_django(PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_development_needs_nothing():
    result = start_django({})
    assert result.returncode == 0, result.stderr


def test_argon2id_is_first_and_meets_owasp_minimum(settings):
    settings.PASSWORD_HASHERS = list(__import__("identity.settings", fromlist=["x"]).PASSWORD_HASHERS)
    first = get_hashers()[0]
    assert isinstance(first, Argon2PasswordHasher)
    encoded = first.encode("a password", first.salt())
    params = first.decode(encoded)
    assert first.params().type.name == "ID" and "argon2id" in encoded
    assert params["memory_cost"] >= 19 * 1024 and params["time_cost"] >= 2 and params["parallelism"] >= 1


def test_celery_is_at_least_once():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_celery_runs_in_process_without_redis():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_BROKER_URL)",
        ],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        | {"DJANGO_SETTINGS_MODULE": "identity.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "memory://"]


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_bad_boolean_is_refused(value):
    result = start_django({"DEBUG": value})
    assert result.returncode != 0 and "DEBUG must be a boolean" in result.stderr
