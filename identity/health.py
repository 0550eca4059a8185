"""Liveness (`/healthz`) and readiness (`/readyz`) probes.

Celery workers serve no HTTP: their readiness is `manage.py readyz` (the same checks, exit status 1
when one fails) and their liveness `celery inspect ping` (deploy/kubernetes/worker.yaml).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"
        return exc.__class__.__name__
    return None


def _check_redis() -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
    except Exception as exc:
        return exc.__class__.__name__
    return None


def readiness() -> dict:
    """The database and (if configured) Redis answer: the body of /readyz and `manage.py readyz`."""
    checks: dict[str, dict[str, str]] = {}
    failing: list[str] = []
    error = _check_database()
    checks["database"] = {"status": "fail", "error": error} if error else {"status": "ok"}
    if error:
        failing.append("database")
    if settings.REDIS_URL:
        error = _check_redis()
        checks["redis"] = {"status": "fail", "error": error} if error else {"status": "ok"}
        if error:
            failing.append("redis")
    else:
        checks["redis"] = {"status": "skipped", "reason": "REDIS_URL is not set"}
    return {"status": "fail" if failing else "ok", "failing": failing, "checks": checks}


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database and (if configured) Redis answer; 503 naming what failed otherwise."""
    body = readiness()
    return JsonResponse(body, status=503 if body["failing"] else 200)
