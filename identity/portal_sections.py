"""The portal's navigation, contributed by apps.

Kept apart from identity/portal.py (views) because AppConfig modules import it while the app
registry is still loading. An app lists its sections on its AppConfig::

    class OAuthConfig(AppConfig):
        portal_sections = (PortalSection("clients", _("Clients"), "portal:clients", order=40),)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.utils.functional import Promise


@dataclass(frozen=True)
class PortalSection:
    """One entry of the portal's navigation; `url_name` is reversed with the project's slug."""

    key: str
    title: str | Promise
    url_name: str
    order: int = 100


def portal_sections() -> list[PortalSection]:
    """The sections every installed app declares (`AppConfig.portal_sections`), in `order`."""
    sections = [
        section for config in apps.get_app_configs() for section in getattr(config, "portal_sections", ())
    ]
    return sorted(sections, key=lambda section: (section.order, section.key))


def portal_section(key: str) -> PortalSection:
    """The section named `key` (KeyError when no installed app declares it)."""
    for section in portal_sections():
        if section.key == key:
            return section
    raise KeyError(key)
