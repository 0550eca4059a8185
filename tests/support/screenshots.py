"""`make screenshots`: full-page PNGs of the main pages at 1366 px and 390 px, for review (#13).

Starts the app on a fresh SQLite database (var/screenshots/demo.sqlite3, made anew each run; no
Redis: tasks run in-process, emails go to the console) with the demo project of `seed_demo` plus
one OAuth client, one pending invitation and one webhook subscription, signs in as the demo owner
through the real sign-in form in Debian's Chromium (never a downloaded browser), and writes
var/screenshots/<width>/<nn>-<page>.png. var/ is git-ignored: the PNGs are not committed.

    .venv/bin/python tests/support/screenshots.py [--out DIR] [--port PORT]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
WIDTHS = {1366: 900, 390: 844}
PASSWORD = "screenshots-demo-password"  # a throwaway database, made anew each run

# Extra demo objects and the ids the page list needs; printed as KEY=VALUE lines.
PREPARE = f"""
from accounts.models import Membership, Project, User
from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from oauth.services import ClientInput, client_create
from webhooks import subscriptions

project = Project.objects.get(slug="demo")
owner = User.objects.get(email="owner@demo.test")
owner.set_password({PASSWORD!r})
owner.save(update_fields=["password"])
actor = Actor(user=owner, ip_address="203.0.113.7", user_agent="screenshots")
client = client_create(project=project, actor=actor, data=ClientInput(
    name="Patient app", grant_types=["authorization_code"], redirect_uris=["https://app.demo.test/callback"],
)).client
invitation_create(project=project, actor=actor, data=InviteInput(email="new.nurse@demo.test"))
subscriptions.subscription_create(
    project=project, actor=actor, url="https://hooks.demo.test/identity", events=["user.invited"]
)
member = Membership.objects.filter(project=project, user__email="ada@demo.test").get()
print(f"client={{client.pk}}")
print(f"member={{member.pk}}")
"""

# (file name, path); {slug}, {client}, {member} filled in. Sign-in is taken before signing in.
PAGES = [
    ("overview", "/portal/{slug}/"),
    ("users", "/portal/{slug}/users/"),
    ("user-detail", "/portal/{slug}/users/{member}/"),
    ("invite", "/portal/{slug}/users/invite/"),
    ("invitations", "/portal/{slug}/invitations/"),
    ("clients", "/portal/{slug}/clients/"),
    ("client-detail", "/portal/{slug}/clients/{client}/"),
    ("client-new", "/portal/{slug}/clients/new/"),
    ("policies", "/portal/{slug}/policies/"),
    ("audit", "/portal/{slug}/audit/"),
    ("settings", "/portal/{slug}/settings/"),
    ("webhooks", "/portal/{slug}/webhooks/"),
    ("outbox", "/portal/{slug}/outbox/"),
    ("account-connected-apps", "/account/connected-apps/"),
    ("account-sign-in-methods", "/account/sign-in-methods/"),
    ("account-sessions", "/account/sessions/"),
    ("account-two-factor", "/accounts/2fa/"),
    ("account-password", "/accounts/password/change/"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_until_up(url: str, server: subprocess.Popen, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited ({server.returncode})")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own loopback server
            return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"the server did not answer {url} within {limit:.0f}s")


def shoot(base_url: str, out: Path, ids: dict[str, str]) -> tuple[list[Path], list[str]]:
    """The PNGs written, and the pages that did not answer 200 (shot all the same)."""
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for width, height in WIDTHS.items():
            folder = out / str(width)
            folder.mkdir(parents=True, exist_ok=True)
            context = browser.new_context(
                base_url=base_url, locale="en-US", viewport={"width": width, "height": height}
            )
            tab = context.new_page()
            tab.goto("/accounts/login/")
            tab.screenshot(path=folder / "00-sign-in.png", full_page=True)
            written.append(folder / "00-sign-in.png")
            tab.get_by_label("Email").fill("owner@demo.test")
            tab.get_by_role("button", name="Continue").click()
            tab.get_by_label("Password").fill(PASSWORD)
            tab.screenshot(path=folder / "01-sign-in-password.png", full_page=True)
            written.append(folder / "01-sign-in-password.png")
            tab.get_by_role("button", name="Sign In", exact=True).click()
            tab.wait_for_url(lambda url: "/accounts/login/" not in url)
            for number, (name, path) in enumerate(PAGES, start=2):
                response = tab.goto(path.format(**ids))
                target = folder / f"{number:02d}-{name}.png"
                tab.screenshot(path=target, full_page=True)
                written.append(target)
                status = response.status if response is not None else 0
                if status != 200:
                    problems.append(f"{path.format(**ids)} answered {status} at {width} px")
                print(f"{width:>5} px  {status}  {path.format(**ids):45} {target.relative_to(ROOT)}")
            context.close()
        browser.close()
    return written, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "screenshots")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    database = args.out / "demo.sqlite3"
    database.unlink(missing_ok=True)
    port = args.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "APP_ENV", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(SQLITE_PATH=str(database), APP_BASE_URL=base_url, DEBUG="true", PYTHONUNBUFFERED="1")
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    ids = dict(line.split("=", 1) for line in manage(env, "shell", stdin=PREPARE).split() if "=" in line)
    ids["slug"] = "demo"
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"{base_url}/accounts/login/", server)
        written, problems = shoot(base_url, args.out, ids)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{len(written)} screenshots in {args.out}")
    if problems:
        sys.exit("\n".join(problems))


if __name__ == "__main__":
    main()
