"""Render an email of a given kind: subject, plain text and HTML, branded per project.

Templates live in `templates/emails/<kind>/{subject.txt,body.txt,body.html}` and can be
overridden per deployment by putting files of the same name earlier on the template path.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.template.loader import render_to_string


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str
    from_email: str
    reply_to: str


def branding_for(project) -> dict:
    default_name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if project is None:
        return {
            "brand_name": default_name or "Identity Portal",
            "brand_color": settings.DEFAULT_BRAND_COLOR,
            "brand_text_color": "#ffffff",
            "logo_url": "",
            "support_email": "",
            "from_email": settings.DEFAULT_FROM_EMAIL,
        }
    brand = project.brand_name
    accent, on_accent = project.brand_colors
    return {
        "brand_name": brand,
        "brand_color": accent,
        "brand_text_color": on_accent,
        "logo_url": project.logo_url,
        "support_email": project.support_email,
        # One line: a name typed with line breaks (the API takes them) must not make every email of
        # the project undeliverable (Django refuses a header with a newline: BadHeaderError).
        "from_email": formataddr((" ".join(brand.split()), project.from_email or default_address)),
    }


def render_email(*, kind: str, project, context: dict) -> RenderedEmail:
    brand = branding_for(project)
    ctx = {**brand, "project": project, "app_base_url": settings.APP_BASE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{kind}/subject.txt", ctx).split())
    return RenderedEmail(
        subject=subject[:255],
        body_text=render_to_string(f"emails/{kind}/body.txt", ctx).strip() + "\n",
        body_html=render_to_string(f"emails/{kind}/body.html", ctx),
        from_email=brand["from_email"],
        reply_to=brand["support_email"],
    )
