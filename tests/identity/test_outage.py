"""Redis unreachable while a request needs it (a restart in a cluster): 503 + Retry-After, not a 500
(identity/error_views.py)."""

from __future__ import annotations

import json
import socket

import pytest
from django.core.cache import cache
from django.http import JsonResponse
from django.test import Client, RequestFactory
from django.urls import include, path

from identity.error_views import service_unavailable

pytestmark = pytest.mark.django_db


def cache_probe(request):
    return JsonResponse({"value": cache.get("probe")})


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("api/v1/cache-probe/", cache_probe),
    path("page/cache-probe/", cache_probe),
    path("page/broken/", broken),
    path("", include("identity.urls")),
]
handler500 = "identity.error_views.server_error"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture
def unreachable_redis(settings):
    settings.ROOT_URLCONF = __name__
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    yield
    from django.core.cache import caches

    caches["default"].close()


@pytest.fixture
def client():
    """A browser: it gets the error response (Django's test client would re-raise)."""
    return Client(raise_request_exception=False)


def test_api_answers_503_in_its_envelope_with_retry_after(client, unreachable_redis):
    response = client.get("/api/v1/cache-probe/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Cache-Control"] == "no-store"
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert "try again" in error["message"].lower()


def test_page_answers_503_page(client, unreachable_redis):
    response = client.get("/page/cache-probe/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "Try again in a moment" in response.content.decode()


def test_sign_in_while_redis_is_down_is_503_not_500(client, unreachable_redis):
    """allauth's sign-in rate limit lives in the cache: the email step cannot be answered."""
    response = client.post("/accounts/login/", {"login": "someone@example.test"})
    assert response.status_code == 503
    assert response["Retry-After"] == "2"


def test_other_errors_stay_500(client, unreachable_redis):
    response = client.get("/page/broken/")
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_token_endpoint_answers_503_json(client, unreachable_redis):
    """/o/ speaks JSON: a client's retry logic reads the status and Retry-After."""
    response = service_unavailable(RequestFactory().post("/o/token/"))
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert json.loads(response.content)["error"]["code"] == "service_unavailable"
