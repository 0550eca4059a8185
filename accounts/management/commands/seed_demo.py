"""Idempotent demo data for `make run`: a "Demo Health" project with an owner, members and a policy."""

from __future__ import annotations

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.app_settings import app_settings
from accounts.models import Membership, Project, Role, User
from accounts.services import (
    access_policy_create,
    membership_create,
    project_create,
    project_update,
    user_get_or_create,
)
from audit.context import Actor

DEMO_NAME = "Demo Health"
DEMO_SLUG = "demo"
OWNER_EMAIL = "owner@demo.test"
MEMBERS = [
    ("ada@demo.test", "Ada", "Lovelace", Role.ADMIN, "Practitioner/ada", "ext-ada"),
    ("grace@demo.test", "Grace", "Hopper", Role.MEMBER, "Practitioner/grace", "ext-grace"),
    ("alan@demo.test", "Alan", "Turing", Role.MEMBER, "", "ext-alan"),
    ("", "Kim", "Externally-Known", Role.MEMBER, "Patient/kim", "okta|00u1kim"),
]


class Command(BaseCommand):
    help = "Create the demo project once; running it again changes nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset-owner-password",
            action="store_true",
            help="Give the demo owner a new password and print it.",
        )

    def handle(self, *args, reset_owner_password: bool = False, **options) -> None:
        base_url = app_settings.APP_BASE_URL
        existing = Project.objects.filter(slug=DEMO_SLUG).first()
        if existing is not None:
            if existing.name == "Demo" and existing.display_name == DEMO_NAME:
                # Seeded before the demo had one name ("Demo" in the portal, "Demo Health" elsewhere).
                project_update(project=existing, actor=Actor.system(), name=DEMO_NAME, display_name="")
            if reset_owner_password:
                owner = User.objects.get(email=OWNER_EMAIL)
                password = secrets.token_urlsafe(10)
                owner.set_password(password)
                owner.save(update_fields=["password"])
                self.stdout.write(f"New password for {OWNER_EMAIL}: {password}")
                return
            self.stdout.write(
                f"Demo project exists. Sign in at {base_url}/accounts/login/ as {OWNER_EMAIL} "
                "(password printed when it was first created; `manage.py seed_demo --reset-owner-password` "
                "prints a new one)."
            )
            return
        password = secrets.token_urlsafe(10)
        actor = Actor.system()
        with transaction.atomic():
            owner, _ = user_get_or_create(
                email=OWNER_EMAIL, first_name="Olive", last_name="Owner", email_verified=True
            )
            owner.set_password(password)
            owner.save(update_fields=["password"])
            project = project_create(
                # One name everywhere (portal, sign-in page, emails): no separate display name.
                name=DEMO_NAME,
                slug=DEMO_SLUG,
                owner=owner,
                actor=actor,
                support_email="support@demo.test",
            )
            policy = access_policy_create(
                project=project,
                name="Clinician",
                description="Read and search clinical data of the member's organization.",
                actor=actor,
                rules=[
                    {
                        "resource_type": "Patient",
                        "interactions": "rs",
                        "criteria": "Patient?organization=%org",
                    },
                    {"resource_type": "Observation", "interactions": "crus", "criteria": ""},
                ],
            )
            access_policy_create(
                project=project,
                name="Read only",
                actor=actor,
                rules=[{"resource_type": "*", "interactions": "rs"}],
            )
            for email, first, last, role, profile, external_id in MEMBERS:
                user, _ = user_get_or_create(
                    email=email, first_name=first, last_name=last, email_verified=bool(email)
                )
                if not Membership.objects.filter(project=project, user=user).exists():
                    membership_create(
                        project=project,
                        user=user,
                        actor=actor,
                        role=role,
                        access_policy=policy if role == Role.MEMBER and email else None,
                        access_parameters={"org": "Organization/demo"}
                        if role == Role.MEMBER and email
                        else {},
                        profile=profile,
                        external_id=external_id,
                    )
        self.stdout.write(self.style.SUCCESS("Demo project created."))
        self.stdout.write(f"  Sign in at {base_url}/accounts/login/")
        self.stdout.write(f"  Email:    {OWNER_EMAIL}")
        self.stdout.write(f"  Password: {password}   (shown only this once)")
