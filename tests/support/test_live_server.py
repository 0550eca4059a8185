"""No live-server thread outlives its connection's test or the server (tests/support/live_server.py)."""

from __future__ import annotations

import http.client
import threading

import pytest
import requests
from pytest_django.live_server_helper import LiveServer

from tests.support.live_server import close_session, connections_closed_on_exit


@pytest.fixture
def server():
    """A live server of this test's own (the session's one must not be stopped here)."""
    live = LiveServer("localhost")
    yield live
    live.stop()


def connection_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "process_request_thread" in t.name}


def joined(threads, timeout: float = 5) -> bool:
    """Wait for each thread to end (Thread.join blocks on the thread itself, no polling)."""
    for thread in threads:
        thread.join(timeout)
    return not any(thread.is_alive() for thread in threads)


def test_kept_alive_connections_end_with_the_server(server):
    before = connection_threads()
    client = http.client.HTTPConnection(server.thread.host, server.thread.port, timeout=5)
    with connections_closed_on_exit(server.thread.httpd):
        client.request("GET", "/healthz")
        response = client.getresponse()
        assert response.status == 200 and response.read()
        waiting = connection_threads() - before
        assert waiting, "the server keeps the connection open for a next request"
    assert not any(thread.is_alive() for thread in waiting)
    assert client.sock.recv(1) == b""  # the server closed its end
    client.close()


def test_close_session_closes_idle_connections_at_once(server):
    before = connection_threads()
    session = requests.Session()
    response = session.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 200
    waiting = connection_threads() - before
    assert waiting
    # `response` stays referenced, as a traceback kept by pytest.raises would keep it.
    close_session(session)
    assert joined(waiting)
