"""The append-only audit log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    PROJECT_CREATED = "project.created", "Project created"
    PROJECT_UPDATED = "project.updated", "Project updated"
    MEMBERSHIP_CREATED = "membership.created", "Membership created"
    MEMBERSHIP_UPDATED = "membership.updated", "Membership updated"
    MEMBERSHIP_DEACTIVATED = "membership.deactivated", "Membership deactivated"
    MEMBERSHIP_REACTIVATED = "membership.reactivated", "Membership reactivated"
    ACCESS_POLICY_CREATED = "access_policy.created", "Access policy created"
    ACCESS_POLICY_UPDATED = "access_policy.updated", "Access policy updated"
    ACCESS_POLICY_DELETED = "access_policy.deleted", "Access policy deleted"
    USER_SIGNED_IN = "user.signed_in", "User signed in"
    USER_SIGN_IN_FAILED = "user.sign_in_failed", "Sign-in failed"
    USER_SIGNED_OUT = "user.signed_out", "User signed out"
    SESSION_ENDED = "session.ended", "Session ended"
    USER_SIGNED_OUT_EVERYWHERE = "user.signed_out_everywhere", "Signed out everywhere"
    MEMBERSHIP_SIGNED_OUT = "membership.signed_out", "Signed out of the project"
    MEMBERSHIP_MFA_RESET = "membership.mfa_reset", "Two-factor authentication reset"
    MEMBERSHIP_PROFILE_UPDATED = "membership.profile_updated", "Name or email changed by an admin"
    MEMBERSHIP_PASSWORD_RESET_SENT = "membership.password_reset_sent", "Password reset email sent by an admin"
    USER_PASSWORD_CHANGED = "user.password_changed", "Password changed"
    USER_SIGNED_UP = "user.signed_up", "User signed up"
    INVITATION_CREATED = "invitation.created", "Invitation sent"
    INVITATION_RESENT = "invitation.resent", "Invitation resent"
    INVITATION_REVOKED = "invitation.revoked", "Invitation revoked"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    BULK_INVITE_STARTED = "bulk_invite.started", "Bulk invite started"
    PASSWORD_RESET_REQUESTED = "user.password_reset_requested", "Password reset requested"
    MESSAGE_RESENT = "message.resent", "Email resent"
    CLIENT_CREATED = "client.created", "Client created"
    CLIENT_UPDATED = "client.updated", "Client updated"
    CLIENT_SECRET_ROTATED = "client.secret_rotated", "Client secret rotated"
    CLIENT_DISABLED = "client.disabled", "Client disabled"
    CLIENT_ENABLED = "client.enabled", "Client enabled"
    CLIENT_DELETED = "client.deleted", "Client deleted"
    CONSENT_REVOKED = "consent.revoked", "Connected app removed"
    IDP_CREATED = "identity_provider.created", "Identity provider created"
    IDP_UPDATED = "identity_provider.updated", "Identity provider updated"
    IDP_DELETED = "identity_provider.deleted", "Identity provider deleted"
    DOMAIN_CLAIMED = "domain.claimed", "Domain claimed"
    DOMAIN_VERIFIED = "domain.verified", "Domain verified"
    DOMAIN_CLAIM_DELETED = "domain.claim_deleted", "Domain claim removed"
    IDENTITY_LINKED = "identity.linked", "Federated identity linked"
    IDENTITY_UNLINKED = "identity.unlinked", "Federated identity unlinked"
    FEDERATED_SIGN_IN_REFUSED = "user.federated_sign_in_refused", "Federated sign-in refused"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created", "Webhook endpoint created"
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated", "Webhook endpoint updated"
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated", "Webhook secret rotated"
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted", "Webhook endpoint deleted"
    WEBHOOK_EVENT_REPLAYED = "webhook_event.replayed", "Webhook event replayed"
    WEBHOOK_EVENT_RECEIVED = "webhook_event.received", "Webhook event received"
    EVENT_SUBSCRIPTION_CREATED = "event_subscription.created", "Event subscription created"
    EVENT_SUBSCRIPTION_UPDATED = "event_subscription.updated", "Event subscription updated"
    EVENT_SUBSCRIPTION_DELETED = "event_subscription.deleted", "Event subscription deleted"
    EVENT_SUBSCRIPTION_DISABLED = "event_subscription.disabled", "Event subscription disabled"
    EVENT_SUBSCRIPTION_SECRET_ROTATED = (
        "event_subscription.secret_rotated",
        "Event subscription secret rotated",
    )
    EVENT_DELIVERY_REPLAYED = "event_delivery.replayed", "Event delivery replayed"
    USER_PROFILE_REFRESHED = "user.profile_refreshed", "Name or email refreshed by a webhook"
    ACCOUNT_LOCKED = "account.locked", "Sign-in locked after failed attempts"
    ACCOUNT_UNLOCKED = "account.unlocked", "Sign-in unlocked"
    CLIENT_LOCKED = "client.locked", "Client locked after failed authentications"


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a recorded audit event."""


class AuditEvent(models.Model):
    """One thing that happened. Rows are never updated or deleted by the application.

    Actor and project are kept as plain ids (no database constraint) plus a label,
    so that the record outlives the user, client or project it mentions.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Plain text, not `choices`: new actions must not need a migration. AuditAction names them.
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_client_id = models.CharField(max_length=255, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    project = models.ForeignKey(
        "accounts.Project",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_label or 'system'}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only; they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")

    def get_action_display(self) -> str:
        try:
            return AuditAction(self.action).label
        except ValueError:
            return self.action
