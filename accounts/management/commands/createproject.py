"""Create a project and make a user (created if needed) its owner."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import SecurityRequestKind
from accounts.services import project_create, user_get_or_create
from accounts.services.security_links import security_link_issue
from audit.context import Actor
from identity.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create a project with an owner. Without --owner-password a new owner gets a one-time set-password "
        "link (printed once, valid 7 days)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", default=None)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", default=None)

    def handle(
        self, *args, name: str, slug: str | None, owner_email: str, owner_password: str | None, **options
    ):
        link = None
        try:
            with transaction.atomic():
                owner, created = user_get_or_create(email=owner_email, email_verified=False)
                if owner_password is not None and (created or not owner.has_usable_password()):
                    owner.set_password(owner_password)
                    owner.save(update_fields=["password"])
                    EmailAddress.objects.filter(user=owner).update(verified=True)
                elif owner_password is not None:
                    raise CommandError(
                        f"{owner.email} already has a password; it is left unchanged. Omit --owner-password."
                    )
                project = project_create(name=name, slug=slug, owner=owner, actor=Actor.system())
                if not owner.has_usable_password():
                    membership = project.memberships.get(user=owner)
                    link = security_link_issue(
                        kind=SecurityRequestKind.INVITE, user=owner, project=project, membership=membership
                    ).url
        except ApplicationError as error:
            raise CommandError(error.message) from error

        self.stdout.write(
            self.style.SUCCESS(f"Created project {project.name!r} (slug {project.slug}, id {project.pk}).")
        )
        self.stdout.write(f"Owner: {owner.email}")
        if link:
            # Printed once; only its hash is stored. Opening it sets the password and signs the owner in.
            self.stdout.write(f"Set-password link (works once, for 7 days): {link}")
