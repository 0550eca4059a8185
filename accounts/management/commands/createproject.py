"""Create a project and make a user (created if needed) its owner."""

from __future__ import annotations

import secrets

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.services import project_create, user_get_or_create
from audit.context import Actor
from identity.errors import ApplicationError


class Command(BaseCommand):
    help = "Create a project with an owner. Without --owner-password a one-time password is generated and printed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", default=None)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", default=None)

    def handle(self, *args, name: str, slug: str | None, owner_email: str, owner_password: str | None, **options):
        generated = None
        try:
            with transaction.atomic():
                owner, created = user_get_or_create(email=owner_email, email_verified=True)
                if created or not owner.has_usable_password():
                    if owner_password is None:
                        generated = secrets.token_urlsafe(12)
                    owner.set_password(owner_password or generated)
                    owner.save(update_fields=["password"])
                elif owner_password:
                    raise CommandError(
                        f"{owner.email} already has a password; it is left unchanged. Omit --owner-password."
                    )
                project = project_create(name=name, slug=slug, owner=owner, actor=Actor.system())
        except ApplicationError as error:
            raise CommandError(error.message) from error

        self.stdout.write(self.style.SUCCESS(f"Created project {project.name!r} (slug {project.slug}, id {project.pk})."))
        self.stdout.write(f"Owner: {owner.email}")
        if generated:
            # Printed once, never stored in clear; the owner should change it after signing in.
            self.stdout.write(f"One-time password: {generated}  (change it after signing in)")
