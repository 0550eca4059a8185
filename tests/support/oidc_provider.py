"""A real upstream OpenID provider for tests: panva's oidc-provider in a Node process.

It stands in for Okta / Auth0 / Cognito (tests/federation/oidc_provider/server.mjs):

- issuer ``http://127.0.0.1:<port>``, a fresh RSA signing key per process;
- open dynamic client registration: ``register_client(redirect_uris=[...])`` per test;
- the built-in dev login form; any password. The login typed is the account id, and claims derive
  from it: ``alice.smith@acme.test`` gives sub ``sub-alice.smith@acme.test``, email,
  email_verified true, given_name Alice, family_name Smith, name "Alice Smith";
  ``unverified.dave@acme.test`` gives email_verified false; ``bob`` gives no email claims;
- consent is granted automatically (``auto_consent=False``, or ``prompt=consent`` in the request,
  shows the dev consent form instead);
- ID tokens from the token endpoint carry the email/profile claims.

What a browser (Playwright) test does at the provider, after the relying party redirected to
``<issuer>/auth?...``, which redirects to ``<issuer>/interaction/<uid>``::

    page.fill("input[name=login]", "alice.smith@acme.test")
    page.fill("input[name=password]", "any")
    page.click("button:has-text('Sign-in')")      # POST /interaction/<uid> -> /auth/<uid> -> redirect_uri
    # only with consent shown (auto_consent=False or prompt=consent): same URL, another form
    page.click("button:has-text('Continue')")

Without a browser, ``sign_in(authorization_url, login=...)`` does the same with requests and returns
the redirect to the relying party (its ``redirect_uri?code=...&state=...``), not followed.

Use from a conftest (or test module): ``from tests.support.oidc_provider import local_op  # noqa: F401``
gives a session-scoped ``local_op`` fixture. It skips when node or the package's node_modules are
missing, and fails instead when REQUIRE_SERVICES=1 (CI), saying to run
``npm ci --prefix tests/federation/oidc_provider``.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import IO
from urllib.parse import urljoin, urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "tests" / "federation" / "oidc_provider"
INSTALL_HINT = "npm ci --prefix tests/federation/oidc_provider"
STARTUP_TIMEOUT = 20.0
HTTP_TIMEOUT = 10.0


def _require(available: bool, reason: str) -> None:
    """Skip without the dependency; fail instead under REQUIRE_SERVICES=1 (as tests/conftest.py does)."""
    if available:
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(reason)


class _Forms(HTMLParser):
    """The forms of a page: [(action, {input name: value})]."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append((attributes.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in attributes:
            self.forms[-1][1][attributes["name"]] = attributes.get("value", "")


class LocalOpenIDProvider:
    """`node server.mjs` on 127.0.0.1; `start()`, then `.issuer`, `register_client()`, `stop()`."""

    def __init__(
        self,
        *,
        port: int = 0,
        auto_consent: bool = True,
        package_dir: Path = PACKAGE_DIR,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.port = port
        self.auto_consent = auto_consent
        self.package_dir = package_dir
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._issuer: str | None = None
        self._discovery: dict | None = None
        self._log: IO[bytes] | None = None

    # --- process -------------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        if self._issuer is None:
            raise RuntimeError("the local OpenID provider is not started")
        return self._issuer

    def start(self) -> str:
        """Start the provider and return its issuer once it listens (skips/fails without node)."""
        if self.process is not None:
            return self.issuer
        node = shutil.which("node")
        _require(node is not None, f"node is not on PATH: install Node.js 20+, then run {INSTALL_HINT}")
        _require(
            (self.package_dir / "node_modules" / "oidc-provider" / "package.json").is_file(),
            f"{self.package_dir / 'node_modules'} is missing: run {INSTALL_HINT}",
        )
        env = {
            **os.environ,
            "PORT": str(self.port),
            "OP_AUTO_CONSENT": "1" if self.auto_consent else "0",
            "OP_EXIT_WITH_PARENT": "1",  # the server exits when our end of its stdin closes
            "NODE_ENV": "test",
        }
        # stderr (oidc-provider's warnings, errors of requests) goes to a file: nobody has to drain it.
        self._log = tempfile.NamedTemporaryFile(prefix="local-op-", suffix=".log")
        self.process = subprocess.Popen(
            [node, "server.mjs"],
            cwd=self.package_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        ready: queue.Queue[bytes] = queue.Queue(maxsize=1)
        reader = threading.Thread(target=self._read_ready, args=(self.process, ready), daemon=True)
        reader.start()
        try:
            line = ready.get(timeout=self.startup_timeout)
        except queue.Empty:
            line = b""
            problem = f"did not print READY within {self.startup_timeout:.0f}s"
        else:
            problem = "exited before it was ready" if not line else ""
        if problem:
            log = self.log()
            self.stop()
            raise RuntimeError(f"the local OpenID provider (node server.mjs) {problem}:\n{log[-3000:]}")
        self._issuer = line.decode().split(" ", 1)[1].strip()
        return self._issuer

    @staticmethod
    def _read_ready(process: subprocess.Popen[bytes], ready: queue.Queue[bytes]) -> None:
        # Blocking reads; the server writes nothing to stdout but its READY line. EOF: it died.
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(b"READY "):
                ready.put(line)
                return
        ready.put(b"")

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()  # SIGTERM: the server closes and exits 0
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        if self._log is not None:
            self._log.close()  # deletes the file
            self._log = None
        self._issuer = None
        self._discovery = None

    def __enter__(self) -> LocalOpenIDProvider:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- protocol ------------------------------------------------------------------------------

    @property
    def discovery(self) -> dict:
        """The discovery document (``/.well-known/openid-configuration``)."""
        if self._discovery is None:
            response = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
            response.raise_for_status()
            self._discovery = response.json()
        return self._discovery

    def register_client(
        self, *, redirect_uris: list[str], auth_method: str = "client_secret_post", **metadata: object
    ) -> tuple[str, str]:
        """Register a confidential code-flow client (RFC 7591); return (client_id, client_secret).

        `auth_method` is its token_endpoint_auth_method (client_secret_post or client_secret_basic);
        `metadata` adds or overrides client metadata (e.g. post_logout_redirect_uris).
        """
        body = {
            "redirect_uris": list(redirect_uris),
            "token_endpoint_auth_method": auth_method,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            **metadata,
        }
        response = requests.post(self.discovery["registration_endpoint"], json=body, timeout=HTTP_TIMEOUT)
        if response.status_code != 201:
            raise RuntimeError(f"client registration failed: {response.status_code} {response.text}")
        client = response.json()
        return client["client_id"], client["client_secret"]

    def sign_in(
        self,
        authorization_url: str,
        *,
        login: str,
        password: str = "x",
        session: requests.Session | None = None,
    ) -> str:
        """Drive the provider's pages like a browser; return the redirect that leaves the provider.

        Starts at `authorization_url` (``<issuer>/auth?...``), submits the dev login form with
        `login`/`password` and, if shown, the consent form; returns the first redirect whose target
        is not the provider (normally ``redirect_uri?code=...&state=...``, or an error redirect)
        without following it. Cookies live in `session` (a new one if not given).
        """
        http = session or requests.Session()
        try:
            response = http.get(authorization_url, allow_redirects=False, timeout=HTTP_TIMEOUT)
            for _ in range(10):
                if response.is_redirect:
                    target = urljoin(response.url, response.headers["Location"])
                    if not _same_origin(target, self.issuer):
                        return target
                    response = http.get(target, allow_redirects=False, timeout=HTTP_TIMEOUT)
                    continue
                if response.status_code != 200:
                    raise RuntimeError(f"{response.url}: {response.status_code} {response.text[:500]}")
                parser = _Forms()
                parser.feed(response.text)
                action, fields = parser.forms[0] if parser.forms else ("", {})
                if fields.get("prompt") == "login":
                    fields.update(login=login, password=password)
                elif fields.get("prompt") != "consent":
                    raise RuntimeError(f"{response.url}: no login or consent form:\n{response.text[:500]}")
                response = http.post(
                    urljoin(response.url, action), data=fields, allow_redirects=False, timeout=HTTP_TIMEOUT
                )
            raise RuntimeError("the provider did not redirect back within 10 steps")
        finally:
            if session is None:
                http.close()


def _same_origin(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


@pytest.fixture(scope="session")
def local_op() -> Iterator[LocalOpenIDProvider]:
    """A started LocalOpenIDProvider shared by the session (register a client per test)."""
    provider = LocalOpenIDProvider()
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


__all__ = ["INSTALL_HINT", "PACKAGE_DIR", "LocalOpenIDProvider", "local_op"]
