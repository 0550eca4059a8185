"""Portal pages for invitations (single and bulk) and the outbox."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts import selectors
from accounts.forms import BulkInviteForm, InviteForm
from accounts.services.bulk_invites import bulk_invite_parse_csv, bulk_invite_start, bulk_invite_summary
from accounts.services.invitations import InviteInput, invitation_create, invitation_resend, invitation_revoke
from identity import flash
from identity.clock import clock
from identity.errors import ApplicationError
from identity.middleware import inline_style_sources
from identity.portal import (
    ConfirmActionMixin,
    Confirmation,
    ProjectAdminView,
    form_add_service_error,
    paginate,
    query_without_page,
)
from notifications import selectors as outbox_selectors
from notifications.app_settings import app_settings as outbox_settings
from notifications.models import MessageKind, MessageStatus
from notifications.services import message_resend, message_resend_refusal


class InviteView(ProjectAdminView):
    section = "users"

    def _form(self, data=None) -> InviteForm:
        may_grant_owner = selectors.actor_may_grant_owner(
            project=self.project, actor=self.actor, actor_membership=self.my_membership
        )
        return InviteForm(data, project=self.project, may_grant_owner=may_grant_owner)

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        return self.render(request, "portal/invitations/invite.html", {"form": self._form()})

    def post(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = self._form(request.POST)
        if form.is_valid():
            try:
                result = invitation_create(
                    project=self.project, actor=self.actor, data=InviteInput(**form.cleaned_data)
                )
            except ApplicationError as error:
                form_add_service_error(form, error)
            else:
                done = {
                    "invited": flash.INVITE_INVITED,
                    "added": flash.INVITE_ADDED,
                    "updated": flash.INVITE_UPDATED,
                }[result.outcome]
                if result.outcome == "invited" and not result.email_sent:
                    user = result.membership.user
                    done = flash.INVITE_INVITED_NOT_SENT if user.email else flash.INVITE_INVITED_NO_EMAIL
                flash.flash(request, done, user=result.membership.user)
                return redirect("portal:invitations", project_slug=self.project.slug)
        return self.render(request, "portal/invitations/invite.html", {"form": form}, status=400)


class InvitationListView(ProjectAdminView):
    section = "invitations"

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        status = request.GET.get("status", "")
        query = request.GET.get("q", "")
        invitations = selectors.invitation_list(project=self.project, status=status, query=query)
        page = paginate(request, invitations)
        page.object_list = list(page.object_list)
        for invitation in page.object_list:  # Revoke is offered only where the service allows it
            invitation.may_revoke = invitation.membership is None or selectors.actor_may(
                actor=self.actor,
                action=selectors.MemberAction.REVOKE_INVITATION,
                membership=invitation.membership,
                actor_membership=self.my_membership,
            )
        return self.render(
            request,
            "portal/invitations/list.html",
            {
                "page": page,
                "status": status,
                "q": query,
                "now": clock.now(),
                "query_string": query_without_page(request),
                "statuses": ["pending", "accepted", "expired", "revoked"],
            },
        )


class InvitationActionView(ConfirmActionMixin, ProjectAdminView):
    """Resend or revoke an invitation: GET asks first (the list's Resend button posts at once:
    a new link is not destructive), POST does it."""

    section = "invitations"
    action = "resend"

    def confirmation(self, *, invitation_id) -> Confirmation:
        invitation = selectors.invitation_get(project=self.project, invitation_id=invitation_id)
        who = invitation.email or (invitation.membership.external_id if invitation.membership else "")
        if self.action == "resend":
            return Confirmation(
                title=f"Send the invitation to {who or invitation.user} again?",
                affects=f"{invitation.user.get_full_name() or who} gets a new email with a new link.",
                consequences=[
                    "The link in the earlier invitation email stops working at once.",
                    "The new link works for the invitation's usual time.",
                ],
                undo="The earlier link cannot be brought back.",
                button="Send again",
                cancel_url=reverse("portal:invitations", kwargs={"project_slug": self.project.slug}),
                danger=False,
            )
        may = invitation.membership is None or selectors.actor_may(
            actor=self.actor,
            action=selectors.MemberAction.REVOKE_INVITATION,
            membership=invitation.membership,
            actor_membership=self.my_membership,
        )
        consequences = [
            "The link in the invitation stops working at once.",
            f"Their membership of {self.project.brand_name} is deactivated: they cannot sign in to its apps.",
        ]
        if invitation.user.email:
            consequences.append("They are emailed that the invitation was withdrawn.")
        return Confirmation(
            title=f"Revoke the invitation for {who or invitation.user}?",
            affects=f"{invitation.user.get_full_name() or who} was invited "
            f"{invitation.created_at:%Y-%m-%d} and has not accepted yet.",
            consequences=consequences,
            undo="This cannot be undone; to let them in later, invite them again.",
            button="Revoke invitation",
            cancel_url=reverse("portal:invitations", kwargs={"project_slug": self.project.slug}),
            blockers=[] if may else ["Only an owner can revoke an owner's invitation."],
        )

    def post(self, request: HttpRequest, project_slug: str, invitation_id) -> HttpResponse:
        invitation = selectors.invitation_get(project=self.project, invitation_id=invitation_id)
        service = invitation_resend if self.action == "resend" else invitation_revoke
        try:
            service(invitation=invitation, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            done = flash.INVITATION_RESENT if self.action == "resend" else flash.INVITATION_REVOKED
            flash.flash(request, done, user=invitation.user)
        return redirect("portal:invitations", project_slug=self.project.slug)


class BulkInviteView(ProjectAdminView):
    section = "users"

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        return self.render(request, "portal/invitations/bulk.html", {"form": BulkInviteForm()})

    def post(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        form = BulkInviteForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = bulk_invite_parse_csv(upload.read())
                job, created = bulk_invite_start(
                    project=self.project,
                    actor=self.actor,
                    rows=rows,
                    source_name=upload.name,
                    send_email=form.cleaned_data["send_email"],
                )
            except ApplicationError as error:
                form.add_error(
                    "file",
                    " ".join([error.message, *error.fields.get("file", []), *error.fields.get("rows", [])]),
                )
            else:
                if not created:
                    flash.flash(request, flash.BULK_INVITE_ALREADY_SUBMITTED)
                response = redirect("portal:bulk_invite", project_slug=self.project.slug, job_id=job.pk)
                response.status_code = 303
                return response
        return self.render(request, "portal/invitations/bulk.html", {"form": form}, status=400)


class BulkInviteDetailView(ProjectAdminView):
    section = "users"

    def get(self, request: HttpRequest, project_slug: str, job_id) -> HttpResponse:
        job = selectors.bulk_invite_get(project=self.project, job_id=job_id)
        problems = [r for r in job.results if r["outcome"] in ("error", "exists")]
        return self.render(
            request,
            "portal/invitations/bulk_detail.html",
            {"job": job, "summary": bulk_invite_summary(job), "problems": problems},
        )


class OutboxListView(ProjectAdminView):
    section = "outbox"

    def get(self, request: HttpRequest, project_slug: str) -> HttpResponse:
        status = request.GET.get("status", "")
        kind = request.GET.get("kind", "")
        query = request.GET.get("q", "")
        page = paginate(
            request,
            outbox_selectors.message_list(project=self.project, status=status, kind=kind, query=query),
        )
        return self.render(
            request,
            "portal/outbox/list.html",
            {
                "page": page,
                "status": status,
                "kind": kind,
                "q": query,
                "statuses": MessageStatus.choices,
                "kinds": MessageKind.choices,
                "query_string": query_without_page(request),
            },
        )


class OutboxDetailView(ProjectAdminView):
    section = "outbox"

    def get(self, request: HttpRequest, project_slug: str, message_id) -> HttpResponse:
        message = outbox_selectors.message_get(project=self.project, message_id=message_id)
        return self.render(
            request,
            "portal/outbox/detail.html",
            {
                "message": message,
                "preview": outbox_settings.PREVIEW_ENABLED,
                "resend_refusal": message_resend_refusal(message=message),
            },
        )


class OutboxResendView(ProjectAdminView):
    section = "outbox"

    def post(self, request: HttpRequest, project_slug: str, message_id) -> HttpResponse:
        message = outbox_selectors.message_get(project=self.project, message_id=message_id)
        try:
            message_resend(message=message, actor=self.actor)
        except ApplicationError as error:
            flash.flash_refusal(request, error)
        else:
            flash.flash(request, flash.MESSAGE_QUEUED_AGAIN, email=message.to_email)
        return redirect("portal:outbox_message", project_slug=self.project.slug, message_id=message.pk)


class OutboxPreviewHtmlView(ProjectAdminView):
    """The HTML body as a document of its own, sandboxed (development preview only)."""

    section = "outbox"

    def get(self, request: HttpRequest, project_slug: str, message_id) -> HttpResponse:
        if not outbox_settings.PREVIEW_ENABLED:
            raise Http404("Message preview is disabled.")
        message = outbox_selectors.message_get(project=self.project, message_id=message_id)
        body = message.body_html or "<p>(no HTML body)</p>"
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
        # Its own origin (sandbox), no scripts, no requests but images; the email's inline styles
        # are allowed one by one by their hashes, never with 'unsafe-inline'.
        response["Content-Security-Policy"] = (
            "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src https: data:; "
            f"style-src {inline_style_sources(body)}; frame-ancestors 'none'"
        )
        response["Cache-Control"] = "no-store"
        return response
