"""Flash messages come from one catalogue (identity/flash.py), translatable, never ad hoc."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.functional import Promise

from tests.factories import MembershipFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p.parent.name for p in ROOT.glob("*/apps.py"))
LEVELS = {"debug", "info", "success", "warning", "error", "add_message"}


def _ad_hoc_messages():
    """Calls of django.contrib.messages (messages.success(...) etc.) outside the catalogue."""
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "identity/flash.py" or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LEVELS
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "messages"
                ):
                    yield f"{rel}:{node.lineno}"


def test_views_say_things_only_through_the_catalogue():
    assert list(_ad_hoc_messages()) == []


def test_every_message_is_translatable_and_formats_its_placeholders():
    from identity import flash

    catalogue = {name: value for name, value in vars(flash).items() if isinstance(value, flash.Flash)}
    assert len(catalogue) >= 15
    for name, message in catalogue.items():
        assert isinstance(message.template, Promise), name
        params = {key: "x" for key in ("user", "name", "email", "count", "object", "reason")}
        assert "{" not in message.render(**params), name


@pytest.mark.django_db
def test_a_flash_message_reaches_the_page(admin_client, project):
    member = MembershipFactory(project=project)
    url = reverse(
        "portal:membership_deactivate", kwargs={"project_slug": project.slug, "membership_id": member.pk}
    )
    page = admin_client.post(url, follow=True).content.decode()
    assert f"{member.user} was deactivated." in page
