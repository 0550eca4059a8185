"""Who may import whom, and how apps contribute portal pages (docs/ARCHITECTURE.md).

- identity imports no app at import time, except the URL composition (identity/urls.py,
  identity/api_urls.py) and settings reading an app's model-free `constants` module;
  imports at call time and under TYPE_CHECKING are allowed.
- An app never imports another app's private names (`_name`, `_module`) nor its entry
  points (views, APIs, URL maps, admin): it calls services and selectors.
- Portal sections come from the apps' AppConfigs, in their declared order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.urls import reverse

from identity.portal_sections import portal_sections

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p.parent.name for p in ROOT.glob("*/apps.py") if p.parent.name != "identity")
COMPOSITION = {"identity/urls.py", "identity/api_urls.py"}
# Settings load before the app registry: only vocabularies that import no models of ours.
SETTINGS_MAY_IMPORT = {("oauth", "constants")}
ENTRY_POINTS = ("views", "api", "urls", "portal_urls", "admin")


def _modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), filename=str(path))


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _import_time_imports(tree: ast.Module):
    """Imports executed when the module loads: the module body and its if/try blocks, not functions."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If | ast.Try) and not _is_type_checking(node):
            for block in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(node, block, []))
        elif isinstance(node, ast.ExceptHandler):
            pending.extend(node.body)


def _imported(node: ast.Import | ast.ImportFrom) -> list[list[str]]:
    """Each imported thing as dotted parts: `from a.b import c` → [["a", "b", "c"]]."""
    if isinstance(node, ast.Import):
        return [alias.name.split(".") for alias in node.names]
    if node.level or not node.module:
        return []  # relative imports stay inside their package
    return [[*node.module.split("."), alias.name] for alias in node.names]


def test_the_apps_are_found():
    assert {"accounts", "oauth", "audit", "notifications"} <= set(APPS)


def test_identity_imports_no_app_at_import_time():
    offenders = [
        f"{path}:{node.lineno} {ast.unparse(node)}"
        for path, tree in _modules("identity")
        if path not in COMPOSITION
        for node in _import_time_imports(tree)
        if any(
            parts[0] in APPS
            and not (path == "identity/settings.py" and tuple(parts[:2]) in SETTINGS_MAY_IMPORT)
            for parts in _imported(node)
        )
    ]
    assert offenders == []


@pytest.mark.parametrize("app", APPS)
def test_apps_import_no_private_names_or_entry_points_of_other_apps(app):
    offenders = []
    for path, tree in _modules(app):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for parts in _imported(node):
                if parts[0] not in APPS or parts[0] == app:
                    continue
                private = any(part.startswith("_") for part in parts[1:])
                entry_point = any(part.startswith(ENTRY_POINTS) for part in parts[1:])
                if private or entry_point:
                    offenders.append(f"{path}:{node.lineno} {ast.unparse(node)}")
    assert offenders == []


def test_portal_sections_are_contributed_by_the_apps_in_order():
    assert [(s.key, s.url_name) for s in portal_sections()] == [
        ("overview", "portal:project"),
        ("users", "portal:users"),
        ("invitations", "portal:invitations"),
        ("policies", "portal:policies"),
        ("clients", "portal:clients"),
        ("simulator", "portal:access_simulator"),
        ("idps", "portal:idps"),
        ("webhooks", "portal:webhooks"),
        ("outbox", "portal:outbox"),
        ("audit", "portal:audit"),
        ("settings", "portal:project_settings"),
    ]


@pytest.mark.django_db
def test_overview_panels_are_contributed_by_the_apps(project):
    """Other apps add boxes to a project's overview through AppConfig.portal_overview."""
    from identity.portal import overview_panels

    assert [panel.key for panel in overview_panels(project=project)] == ["clients"]


@pytest.mark.django_db
def test_every_section_is_in_the_navigation(admin_client, project):
    page = admin_client.get(reverse("portal:users", kwargs={"project_slug": project.slug})).content.decode()
    for section in portal_sections():
        assert f'href="{reverse(section.url_name, kwargs={"project_slug": project.slug})}"' in page
