"""Users, projects (tenants), memberships and access policies.

Models hold fields, constraints and small predicates; every change goes through
`accounts/services/` so that the audit log and (later) notifications see it.
"""

from __future__ import annotations

import re
import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

SMART_INTERACTIONS = "cruds"
FHIR_PROFILE_RE = re.compile(
    r"^(Patient|Practitioner|PractitionerRole|RelatedPerson|Person)/[A-Za-z0-9\-.]{1,64}$"
)
RESOURCE_TYPE_RE = re.compile(r"^(\*|[A-Z][A-Za-z]{1,63})$")
# A `%name` placeholder in a rule's criteria, filled from a member's access parameters (the rule
# grammar is accounts/services/access_rules.py).
CRITERIA_PLACEHOLDER = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)")


def normalize_email(email: str | None) -> str | None:
    """Emails are stored lower-cased and stripped; blank means 'no email'."""
    email = (email or "").strip().lower()
    return email or None


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str | None = None, password: str | None = None, **extra) -> User:
        user = self.model(email=normalize_email(email), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email=email, password=password, **extra)

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email__iexact=normalize_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Email is optional (users known only by an external ID have none)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Unique when present; NULL (never "") when absent so several users may have none.
    email = models.EmailField("email address", max_length=254, unique=True, null=True, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField("operator (Django admin)", default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email or self.get_full_name() or str(self.id)

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or (self.email or "")


class SignInMethod(models.TextChoices):
    PASSWORD = "password", "Email and password"
    GOOGLE = "google", "Google"
    OIDC = "oidc", "Company identity provider (OpenID Connect)"


def default_sign_in_methods() -> list[str]:
    return [SignInMethod.PASSWORD.value]


class Project(models.Model):
    """A tenant. Everything an admin manages belongs to exactly one project."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    # Branding for pages and emails.
    display_name = models.CharField(max_length=120, blank=True)
    logo_url = models.URLField(blank=True)
    support_email = models.EmailField(blank=True)
    from_email = models.EmailField("From address for emails", blank=True)
    # The accent colour of the sign-in page and emails (buttons, header rule); "" = the default.
    brand_color = models.CharField(
        "brand colour",
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour such as #1f5fbf.")],
    )
    # Policies.
    allowed_sign_in_methods = models.JSONField(default=default_sign_in_methods)
    mfa_required = models.BooleanField(default=False)
    default_access_policy = models.ForeignKey(
        "accounts.AccessPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    allow_self_signup = models.BooleanField(default=False)
    # The role of members who join without an admin choosing one (sign-up, provisioning by a
    # provider). Never owner: owners are chosen by owners.
    default_role = models.CharField(
        max_length=16,
        choices=[("member", "Member"), ("admin", "Admin")],
        default="member",
    )
    # SMART on FHIR: the FHIR server this project's tokens are for. When set, /o/authorize
    # requires `aud` to be it, access tokens carry it as `aud`, and `fhirUser` is built on it.
    fhir_base_url = models.URLField(
        "FHIR base URL",
        max_length=500,
        blank=True,
        help_text="e.g. https://fhir.example.com/r4 (no trailing slash). Leave empty if the project has no FHIR server.",
    )
    # Browser sessions of this project's members end after this much inactivity / this long in
    # all (empty: the deployment's SESSION_COOKIE_AGE only). A member of several projects gets
    # the strictest of them.
    session_idle_minutes = models.PositiveIntegerField(
        "sign out after inactivity (minutes)",
        null=True,
        blank=True,
        validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)],
    )
    session_max_hours = models.PositiveIntegerField(
        "sign out after (hours) whatever the activity",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(90 * 24)],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.fhir_base_url = (self.fhir_base_url or "").strip().rstrip("/")
        super().save(*args, **kwargs)

    @property
    def brand_colors(self) -> tuple[str, str]:
        """(accent, text on the accent): the brand colour or the default, with black or white
        text, whichever contrasts more (WCAG relative luminance)."""
        from django.conf import settings

        accent = (self.brand_color or settings.DEFAULT_BRAND_COLOR).lower()
        red, green, blue = (int(accent[i : i + 2], 16) / 255 for i in (1, 3, 5))

        def linear(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
        return accent, "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"

    @property
    def brand_name(self) -> str:
        return self.display_name or self.name

    def clean(self) -> None:
        unknown = set(self.allowed_sign_in_methods or []) - set(SignInMethod.values)
        if unknown:
            raise ValidationError(
                {"allowed_sign_in_methods": f"Unknown sign-in method(s): {sorted(unknown)}"}
            )
        if not self.allowed_sign_in_methods:
            raise ValidationError({"allowed_sign_in_methods": "Allow at least one sign-in method."})
        base = (self.fhir_base_url or "").strip()
        if base and not (
            base.startswith("https://")
            or base.startswith("http://localhost")
            or base.startswith("http://127.0.0.1")
        ):
            raise ValidationError({"fhir_base_url": "Use an https URL (http only for localhost)."})
        if "?" in base or "#" in base:
            raise ValidationError({"fhir_base_url": "The base URL may not contain a query or a fragment."})


def validate_interactions(value: str) -> None:
    """SMART v2 permissions: a non-empty, in-order subset of `cruds` (so `.dus` is refused)."""
    if not value:
        raise ValidationError("Choose at least one interaction.", code="interactions_empty")
    position = -1
    for letter in value:
        index = SMART_INTERACTIONS.find(letter)
        if index <= position:
            raise ValidationError(
                "Interactions must be letters of 'cruds', each once, in that order (e.g. 'rs').",
                code="interactions_invalid",
            )
        position = index


class AccessPolicy(models.Model):
    """Named rules of what a member may do with which FHIR resource types."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="access_policies")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "access policies"
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="access_policy_name_unique_in_project"),
        ]

    def __str__(self) -> str:
        return self.name


class AccessPolicyRule(models.Model):
    policy = models.ForeignKey(AccessPolicy, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    resource_type = models.CharField(
        max_length=64,
        validators=[RegexValidator(RESOURCE_TYPE_RE, "Use a FHIR resource type such as Patient, or *.")],
    )
    interactions = models.CharField(max_length=5, validators=[validate_interactions])
    # A FHIR search string; `%name` placeholders are filled from the membership's parameters.
    criteria = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        suffix = f"?{self.criteria}" if self.criteria else ""
        return f"{self.resource_type}.{self.interactions}{suffix}"

    @property
    def parameter_names(self) -> set[str]:
        return set(CRITERIA_PLACEHOLDER.findall(self.criteria))


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


ADMIN_ROLES = (Role.OWNER, Role.ADMIN)


class Membership(models.Model):
    """A user's place in a project: role, status, access policy and identifiers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    access_policy = models.ForeignKey(
        AccessPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )
    access_parameters = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    profile = models.CharField(
        "FHIR profile",
        max_length=100,
        blank=True,
        validators=[RegexValidator(FHIR_PROFILE_RE, "Use a FHIR reference such as Practitioner/123.")],
    )
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="membership_user_project_unique"),
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=~Q(external_id=""),
                name="membership_external_id_unique_in_project",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "role", "is_active"]),
            # The member lists' default order (portal and API): the first page is read off the
            # index instead of sorting the whole project (docs/OAUTH.md, "Performance notes").
            models.Index(fields=["project", "-created_at", "id"], name="membership_project_created"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role in ADMIN_ROLES


class SecurityRequestKind(models.TextChoices):
    INVITE = "invite", "Invitation"
    RESET = "reset", "Password reset"


class SecurityRequest(models.Model):
    """A single-use, expiring link: `{APP_BASE_URL}/setpassword/{id}/{secret}`.

    Only an HMAC of the secret is stored. An invitation is a request of kind
    `invite` tied to the membership it created; it is listed, resent (a new
    secret, so the old link dies) and revoked from the portal.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=SecurityRequestKind.choices)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_requests")
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="security_requests"
    )
    membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The address the link was sent to; the link dies if the user's email changes.
    email = models.EmailField(max_length=254, blank=True)
    # Empty when no link was issued (an existing user added to a project signs in as usual).
    secret_hash = models.CharField(max_length=128, blank=True)
    # A fingerprint of the password hash at issue time: the link dies when the password changes.
    password_fingerprint = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)
    # Hashes of the secrets of earlier sends (a resend replaces the link), newest first, a few:
    # a replaced link is told apart from a mistyped one ("a newer invitation was sent").
    previous_secret_hashes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user}"

    def status_at(self, now) -> str:
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "accepted" if self.kind == SecurityRequestKind.INVITE else "used"
        if self.expires_at <= now:
            return "expired"
        return "pending"

    @property
    def status(self) -> str:
        from identity.clock import clock

        return self.status_at(clock.now())


class BulkInviteStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BulkInvite(models.Model):
    """A batch of invitations processed in the background, with progress and a per-row report."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="bulk_invites")
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    # The OAuth client that started the job (client-credentials automation), so the rows are
    # invited with exactly the rights of whoever asked.
    created_by_client_id = models.CharField(max_length=255, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    # SHA-256 of the normalised rows: the same file submitted twice is the same job.
    content_hash = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=BulkInviteStatus.choices, default=BulkInviteStatus.QUEUED
    )
    send_email = models.BooleanField(default=True)
    rows = models.JSONField(default=list)  # the valid rows, normalised
    invalid_rows = models.JSONField(default=list)  # [{"row": n, "fields": {...}}] rejected before processing
    results = models.JSONField(default=list)  # [{"row": n, "outcome": "invited|added|exists|error", ...}]
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_error = models.TextField(blank=True)
    # Resumed by the relay without progress since (a worker that keeps dying on this job):
    # after BULK_INVITE_MAX_RESUMES the job is failed rather than republished forever.
    resume_count = models.PositiveIntegerField(default=0)
    processed_at_resume = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "content_hash"], name="bulk_invite_unique_content"),
        ]

    def __str__(self) -> str:
        return f"Bulk invite of {self.total} in {self.project}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.processed * 100 / self.total)

    @property
    def is_finished(self) -> bool:
        return self.status in (BulkInviteStatus.DONE, BulkInviteStatus.FAILED)
