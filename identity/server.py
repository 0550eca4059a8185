"""The web process: `python -m identity.server` serves identity.wsgi with granian.

One place for how a web node runs, used by the Docker image, deploy/compose.yaml,
deploy/kubernetes/web.yaml, bench/cluster.py, bench/token_load.py and the tests' web processes
(tests/support/services.py), so the server they measure and test is the one production runs.

Why granian rather than gunicorn's sync workers (docs/DEPLOYMENT.md, "The web server"): it keeps
HTTP/1.1 connections alive and parses HTTP in Rust, so a client that sends many requests (a
resource server introspecting, an app fetching tokens, the load balancer) does not pay a new TCP
connection and a Python HTTP parser per request. Measured on the 2-core bench machine: /healthz
2,725 -> 5,313 requests/s, client-credentials grants 822 -> 984/s, same workers.

Each worker process runs ONE Python thread for requests (`blocking_threads=1`): the same
concurrency model as the sync workers before, so per-process caches and database connections are
used by one request at a time. Requests beyond that wait in the worker's queue (`backpressure`).

Settings come from the command line, else the environment:
  --host / WEB_HOST (0.0.0.0), --port / PORT (8000), --workers / WEB_CONCURRENCY (3),
  --graceful-timeout / WEB_GRACEFUL_TIMEOUT (30 s to finish requests in flight on SIGTERM),
  --access-log / WEB_ACCESS_LOG (1: one line per request on standard output; 0: none).
"""

from __future__ import annotations

import argparse
import os
import sys

# Requests each worker takes off its connections before it stops reading more (granian's
# backpressure): with one request thread the rest wait here, as in a sync worker's backlog.
_QUEUE_PER_WORKER = 64


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m identity.server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", "0.0.0.0"))  # noqa: S104 (a server)
    parser.add_argument("--port", type=int, default=_env_int("PORT", 8000))
    parser.add_argument("--workers", type=int, default=_env_int("WEB_CONCURRENCY", 3))
    parser.add_argument("--graceful-timeout", type=int, default=_env_int("WEB_GRACEFUL_TIMEOUT", 30))
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=os.environ.get("WEB_ACCESS_LOG", "1").strip() not in ("0", "false", "no", ""),
    )
    args = parser.parse_args(argv)
    if args.workers < 1 or not (0 < args.port < 65536) or args.graceful_timeout < 1:
        parser.error("--workers and --graceful-timeout must be >= 1 and --port in 1..65535")
    return args


def build(args: argparse.Namespace):
    """The configured granian server (not started)."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    return Granian(
        target="identity.wsgi:application",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        websockets=False,
        workers=args.workers,
        blocking_threads=1,
        backpressure=_QUEUE_PER_WORKER,
        respawn_failed_workers=True,  # a worker that dies (OOM, crash) is replaced, as gunicorn did
        workers_kill_timeout=args.graceful_timeout,
        log_access=args.access_log,
    )


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity.settings")
    build(parse(argv)).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
