"""Rotate the OIDC signing key (publish first, then sign; the old key keeps verifying)."""

from django.core.management.base import BaseCommand

from oauth.constants import SigningAlgorithm
from oauth.keys import signing_key_rotate


class Command(BaseCommand):
    help = (
        "Rotate a signing key. With --publish-only, publish the next key in the JWKS without signing "
        "with it yet (run this a day before rotating so relying parties cache it)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--algorithm", choices=SigningAlgorithm.values, default=SigningAlgorithm.RS256.value
        )
        parser.add_argument("--publish-only", action="store_true")

    def handle(self, *args, algorithm: str, publish_only: bool, **options) -> None:
        key = signing_key_rotate(algorithm=algorithm, publish_only=publish_only)
        state = (
            "published (not signing yet)"
            if publish_only
            else "now signing; the previous key verifies until its tokens expire"
        )
        self.stdout.write(self.style.SUCCESS(f"{algorithm} key {key.kid}: {state}."))
