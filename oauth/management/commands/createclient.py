"""Register an OAuth client from the command line; prints its credentials as JSON once."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Project
from audit.context import Actor
from identity.errors import ApplicationError
from oauth.constants import TokenEndpointAuthMethod
from oauth.models import Client, ClientRole, GrantType
from oauth.scopes import NAMED_SCOPES
from oauth.services import ClientInput, client_create


class Command(BaseCommand):
    help = (
        "Create an OAuth client in a project and print its client_id (and secret, once). "
        "An automation client (client credentials) that calls the portal API needs --role: "
        "with --role admin it gets portal.read and portal.write, with --role member portal.read, "
        "unless --scope names a portal scope itself. A backend service (SMART Backend Services) "
        "that signs JWT assertions instead of sending a secret: --auth-method private_key_jwt with "
        "--jwks-uri or --jwks-file; it gets no secret."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--grant",
            action="append",
            required=True,
            choices=[GrantType.AUTHORIZATION_CODE, GrantType.CLIENT_CREDENTIALS, GrantType.REFRESH_TOKEN],
            help="a grant the client may use; repeat for several",
        )
        parser.add_argument(
            "--redirect-uri", action="append", default=[], help="for authorization_code; repeatable"
        )
        parser.add_argument(
            "--post-logout-redirect-uri",
            action="append",
            default=[],
            help="where RP-initiated logout may send the browser back to (matched exactly); repeatable",
        )
        parser.add_argument(
            "--backchannel-logout-uri",
            default="",
            help="https URL that receives a logout token when a session the client got tokens in ends",
        )
        parser.add_argument(
            "--no-backchannel-logout-session-required",
            dest="backchannel_logout_session_required",
            action="store_false",
            help="logout tokens without the session's sid",
        )
        parser.add_argument(
            "--no-revoke-tokens-on-logout",
            dest="revoke_tokens_on_logout",
            action="store_false",
            help="keep the client's tokens when the browser session they were issued in ends",
        )
        parser.add_argument("--public", action="store_true")
        parser.add_argument(
            "--scope",
            default="openid",
            help="space-separated scopes the client may request (default: openid), from: "
            f"{', '.join(NAMED_SCOPES)} and SMART resource scopes (patient/*.rs, user/Observation.cruds, "
            "system/Patient.rs, ...). The portal API needs portal.read (reads) or "
            "portal.write (writes); a client with --role gets those its role permits when "
            "none is named here",
        )
        parser.add_argument(
            "--role",
            choices=[ClientRole.ADMIN, ClientRole.MEMBER],
            default="",
            help="portal API role of a client-credentials client, in its own project: admin "
            "(read and write; adds portal.read portal.write) or member (read only; adds "
            "portal.read). Without a role its tokens cannot call the portal API",
        )
        parser.add_argument(
            "--auth-method",
            choices=[
                TokenEndpointAuthMethod.CLIENT_SECRET_BASIC,
                TokenEndpointAuthMethod.CLIENT_SECRET_POST,
                TokenEndpointAuthMethod.PRIVATE_KEY_JWT,
            ],
            default="",
            help="how a confidential client authenticates at the token endpoint (default: a secret, "
            "sent either way). private_key_jwt (RFC 7523): no secret; give --jwks-uri or --jwks-file",
        )
        keys = parser.add_mutually_exclusive_group()
        keys.add_argument(
            "--jwks-uri", default="", help="private_key_jwt: https URL of the client's public keys"
        )
        keys.add_argument(
            "--jwks-file", default="", help="private_key_jwt: a file with the client's public keys (a JWKS)"
        )
        parser.add_argument("--skip-consent", action="store_true")
        parser.add_argument("--json", action="store_true", help="print only the JSON credentials")

    def handle(self, *args, **opts) -> None:
        try:
            project = Project.objects.get(slug=opts["project"])
        except Project.DoesNotExist as exc:
            raise CommandError(f"No project with slug {opts['project']!r}.") from exc
        jwks = None
        if opts["jwks_file"]:
            try:
                jwks = json.loads(Path(opts["jwks_file"]).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read a JWKS from {opts['jwks_file']}: {exc}") from exc
        data = ClientInput(
            name=opts["name"],
            client_type=Client.CLIENT_PUBLIC if opts["public"] else Client.CLIENT_CONFIDENTIAL,
            grant_types=opts["grant"],
            redirect_uris=opts["redirect_uri"],
            scopes=opts["scope"].split(),
            role=opts["role"],
            skip_consent=opts["skip_consent"],
            token_endpoint_auth_method=opts["auth_method"],
            jwks_uri=opts["jwks_uri"],
            jwks=jwks,
            post_logout_redirect_uris=opts["post_logout_redirect_uri"],
            backchannel_logout_uri=opts["backchannel_logout_uri"],
            backchannel_logout_session_required=opts["backchannel_logout_session_required"],
            revoke_tokens_on_logout=opts["revoke_tokens_on_logout"],
        )
        try:
            issued = client_create(project=project, actor=Actor.system(), data=data)
        except ApplicationError as error:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
            raise CommandError(f"{error.message} {details}".strip()) from error
        credentials = {"client_id": issued.client.client_id}
        if issued.client_secret:
            credentials["client_secret"] = issued.client_secret
        if not opts["json"]:
            if issued.client_secret:
                how = "The secret is shown only now."
            elif issued.client.uses_private_key_jwt:
                how = "It authenticates with its private key (private_key_jwt); it has no secret."
            else:
                how = "Public clients have no secret."
            self.stderr.write(f"Created client {issued.client.name!r} in {project.name}. {how}")
        self.stdout.write(json.dumps(credentials))
