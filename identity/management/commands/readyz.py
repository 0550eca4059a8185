"""`manage.py readyz`: the readiness checks of /readyz for processes that serve no HTTP (workers).

Prints the same JSON as /readyz and exits 1 when the database or Redis does not answer, so a
Kubernetes exec probe (deploy/kubernetes/worker.yaml) or a compose health check can use it.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from identity.health import readiness


class Command(BaseCommand):
    help = "Check that the database and Redis answer (the checks of /readyz); exit status 1 if not."

    def handle(self, *args, **options) -> None:
        body = readiness()
        self.stdout.write(json.dumps(body))
        if body["failing"]:
            raise CommandError("not ready: " + ", ".join(body["failing"]))
