"""Every service that changes something an admin or a security review cares about records an
audit event — directly, or through the service it delegates to. A new write service without an
audit record fails here until it records one (or is listed below with the reason it does not)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE_MODULES = sorted(
    [
        *ROOT.glob("accounts/services/*.py"),
        ROOT / "oauth/services.py",
        ROOT / "oauth/launch.py",
        *ROOT.glob("federation/services/*.py"),
        ROOT / "notifications/services.py",
        ROOT / "webhooks/services.py",
        ROOT / "webhooks/subscriptions.py",
    ]
)
WRITE = re.compile(
    r"_(create|update|delete|deactivate|reactivate|revoke|rotate_secret|resend|set_active|verify_by_\w+"
    r"|sign_out|sign_out_everywhere|unlink|end|end_all|remove|start|invite|accept_pending)$"
)
# Writes that are deliberately not audited themselves, and why.
EXEMPT = {
    "tokens_revoke": "a mechanism: the action that revokes (deactivation, sign-out, secret rotation) is audited",
    "launch_context_create": "an EHR launch is a short-lived, single-use handle, created per app launch",
    "bulk_invite_start": "each row becomes an audited invitation (invitation.created)",
    "user_get_or_create": "a user is made inside an audited invitation, sign-up or provisioning",
}


def _functions():
    for path in SERVICE_MODULES:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                calls = {
                    (c.func.id if isinstance(c.func, ast.Name) else getattr(c.func, "attr", ""))
                    for c in ast.walk(node)
                    if isinstance(c, ast.Call)
                }
                yield path.relative_to(ROOT).as_posix(), node.name, calls


def test_every_write_service_records_an_audit_event():
    functions = list(_functions())
    audited = {name for _, name, calls in functions if "audit_record" in calls}
    changed = True
    while changed:  # a service that delegates to an audited one is audited
        changed = False
        for _, name, calls in functions:
            if name not in audited and calls & audited:
                audited.add(name)
                changed = True
    writes = [(path, name) for path, name, _ in functions if not name.startswith("_") and WRITE.search(name)]
    assert len(writes) > 20  # the enumeration finds the services (guards against a broken glob)
    missing = [f"{path}:{name}" for path, name in writes if name not in audited and name not in EXEMPT]
    assert missing == []
