"""identity/server.py: how a web node runs (granian serving identity.wsgi). The process itself is
exercised by the tests that start real web nodes (tests/support/services.py's WebServer)."""

from __future__ import annotations

import pytest
from granian.constants import HTTPModes, Interfaces

from identity import server


def test_defaults_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("WEB_ACCESS_LOG", "0")
    monkeypatch.delenv("WEB_GRACEFUL_TIMEOUT", raising=False)
    args = server.parse([])
    assert (args.workers, args.port, args.access_log, args.graceful_timeout) == (5, 8123, False, 30)
    assert server.parse(["--workers", "2", "--access-log"]).workers == 2
    assert server.parse(["--access-log"]).access_log is True


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--port", "70000"], ["--graceful-timeout", "0"]])
def test_bad_values_stop_the_server_before_it_starts(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        server.parse(argv)
    assert stopped.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_the_server_serves_the_wsgi_app_one_request_at_a_time_per_worker(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    configured = server.build(server.parse(["--port", "8000"]))
    assert configured.target == "identity.wsgi:application"
    assert configured.interface == Interfaces.WSGI
    assert configured.http == HTTPModes.http1
    # One request thread per process: the per-process caches and the database connection are used
    # by one request at a time, as with the sync workers before.
    assert configured.blocking_threads == 1
    assert configured.workers == 3
    assert configured.respawn_failed_workers is True
    assert configured.workers_kill_timeout == 30
