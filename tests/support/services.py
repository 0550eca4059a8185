"""Real service processes for integration tests: a Redis server we can stop, a Celery worker."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server on a fixed port that a test can stop and start again."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--daemonize",
                "no",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in self.process.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError("redis-server did not start")
        assert redis.Redis.from_url(self.url).ping()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.process and self.process.stdout:
            self.process.stdout.close()
        self.process = None


class CeleryWorker:
    """`celery -A identity worker -B` in a subprocess against the test database."""

    def __init__(self, *, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.log = workdir / "worker.log"

    def start(self) -> None:
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "identity",
                "worker",
                "-B",
                "-s",
                str(self.workdir / "beat-schedule"),
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                # Test instrumentation: every final delivery outcome is pushed to Redis (see the
                # module), so tests block on it instead of polling.
                "--include",
                "tests.support.mail_backends",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._log_file = open(self.log, "w")  # closed in stop()
        for line in self.process.stdout:  # blocks until the worker says it is ready (EOF if it dies)
            self._log_file.write(line)
            if " ready." in line:
                break
        else:
            self._log_file.close()
            raise RuntimeError("worker exited:\n" + self.log.read_text()[-3000:])
        # Keep draining its output, or the worker blocks on a full pipe.
        self._drain = threading.Thread(target=self._copy_output, daemon=True)
        self._drain.start()

    def _copy_output(self) -> None:
        for line in self.process.stdout:
            self._log_file.write(line)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._drain.join(timeout=10)  # the pipe closes with the process
        self._log_file.close()


@contextlib.contextmanager
def broker_unreachable():
    """Celery publishes to a port where nothing listens (refused at once), not eagerly.

    Celery caches its producer pool on the first publish; a test that only swapped the broker
    URL would keep publishing to the previous (in-memory) broker and never see it fail.
    """
    from identity.celery import app

    def reconnect(**conf) -> None:
        app.conf.update(**conf)
        # Not app.close(): it deregisters the app, and task modules imported afterwards would
        # not register their shared tasks with it (NotRegistered). Celery 5.x keeps the pools here.
        from kombu import pools

        pools.reset()  # kombu's registry of connection and producer pools (public API)
        app._pool = None
        app.amqp._producer_pool = None

    reconnect(task_always_eager=False, broker_url="redis://127.0.0.1:1/0")
    try:
        yield
    finally:
        reconnect(task_always_eager=True, broker_url="memory://")


class WebServer:
    """A real web process (`python -m identity.server`: granian, one worker) on a free port,
    against the database and Redis named in `env`: what a web node is in production."""

    def __init__(self, *, env: dict[str, str], workdir: Path, name: str = "web") -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "identity.server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: stop() can end the workers with it
        )
        self._log_file = open(self.log, "w")  # closed in stop()
        for line in self.process.stdout:  # EOF if it dies
            self._log_file.write(line)
            if "Started worker-1" in line:
                break
        else:
            self._log_file.close()
            raise RuntimeError("the web server exited:\n" + self.log.read_text()[-3000:])
        self._drain = threading.Thread(target=self._copy_output, daemon=True)
        self._drain.start()
        self._wait_listening()

    def _wait_listening(self, timeout: float = 60.0) -> None:
        """On Linux each granian worker binds the port itself (SO_REUSEPORT) once it has loaded the
        app, with no signal of it: "Started worker-1" is logged before that. A refused connection
        answers at once, so this tries again every 20 ms until one is accepted."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
                return
            except OSError:
                if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the web server did not listen:\n" + self.log.read_text()[-3000:]
                    ) from None
                time.sleep(0.02)

    def _copy_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self._log_file.write(line)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                # SIGKILL of the main process alone would leave its workers serving: the group.
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process is not None:
            self._drain.join(timeout=10)
            self._log_file.close()
        self.process = None
