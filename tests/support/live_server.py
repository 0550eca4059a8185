"""Connections to the live server that end with their test, and threads that end with the server.

Django's threaded test server serves each connection in a daemon thread that waits for the next
request for as long as the client keeps the connection open; stopping the server does not close
these connections. Clients keep them longer than one expects: a browser does, and so does a
requests (or authlib) session, whose `close()` leaves idle connections to the garbage collector
under urllib3 2, while an exception held by `pytest.raises` keeps its response, hence its
connection pool, alive. Such threads outlived the test session and died at interpreter exit,
printing "Exception in thread ... (process_request_thread)".
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator

import requests


def close_session(session: requests.Session) -> None:
    """Close `session` and its idle connections now, not when its pools are garbage-collected."""
    for adapter in session.adapters.values():
        pools = getattr(adapter, "poolmanager", None)
        if pools is None:
            continue
        for key in pools.pools.keys():
            pools.pools[key].close()
    session.close()


@contextlib.contextmanager
def connections_closed_on_exit(server: socketserver.BaseServer, *, timeout: float = 10) -> Iterator[None]:
    """Track `server`'s open connections; on exit shut them down and wait until their threads end.

    `server` is a running socketserver (the live server's `thread.httpd`) whose connections are
    each handled until `shutdown_request`. A connection's thread waiting for a next request reads
    end-of-file once the connection is shut down, and finishes.
    """
    open_connections: set[socket.socket] = set()
    changed = threading.Condition()
    process_request, shutdown_request = server.process_request, server.shutdown_request

    def track(request, client_address) -> None:
        with changed:
            open_connections.add(request)
        process_request(request, client_address)

    def forget(request) -> None:
        try:
            shutdown_request(request)
        finally:
            with changed:
                open_connections.discard(request)
                changed.notify_all()

    server.process_request, server.shutdown_request = track, forget
    try:
        yield
    finally:
        with changed:
            for connection in open_connections:
                with contextlib.suppress(OSError):  # the client closed it: its thread is ending
                    connection.shutdown(socket.SHUT_RDWR)
            if not changed.wait_for(lambda: not open_connections, timeout=timeout):
                raise RuntimeError(f"{len(open_connections)} live-server connection(s) did not close")
