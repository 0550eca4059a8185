"""Django settings: everything comes from the environment (see identity/env.py).

Development defaults need nothing installed: an SQLite file, Celery tasks run
in-process, email printed to the console. `APP_ENV=production` turns the
defaults off and refuses to start without the variables a real deployment needs.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from identity.env import env_bool, env_int, env_list, env_str, require_production_settings
from oauth.constants import GrantType  # model-free: safe to import while settings load

BASE_DIR = Path(__file__).resolve().parent.parent

APP_ENV = env_str("APP_ENV", "development").lower()
PRODUCTION = APP_ENV == "production"
if PRODUCTION:
    require_production_settings(["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "APP_BASE_URL"])

# Development key: only ever used when APP_ENV is not production (checked above).
SECRET_KEY = env_str("SECRET_KEY") or "dev-insecure-key-do-not-use-in-production-0123456789abcdef"
# Previous SECRET_KEYs, still accepted for verification (sessions, set-password links) after a rotation.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
# Keys of encryption at rest (identity/crypto.py): the first encrypts, all decrypt; independent of
# SECRET_KEY so rotating one never makes stored signing keys unreadable. Required in production
# (system check identity.E001); `manage.py rotate_encryption_key` re-encrypts after a change.
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS")
DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
APP_BASE_URL = env_str("APP_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ISSUER_URL = env_str("ISSUER_URL", APP_BASE_URL).rstrip("/")
OIDC_SIGNING_KEY = env_str("OIDC_SIGNING_KEY").replace("\\n", "\n")  # RS256 PEM; else keys live in the DB
# Key of the keyed hash of OAuth client secrets (oauth/hashers.py). Unset, SECRET_KEY (and its
# fallbacks) stand in; required in production (system check identity.E002). Previous peppers in
# CLIENT_SECRET_PEPPER_FALLBACKS keep existing client secrets valid after a pepper rotation.
CLIENT_SECRET_PEPPER = env_str("CLIENT_SECRET_PEPPER")
CLIENT_SECRET_PEPPER_FALLBACKS = env_list("CLIENT_SECRET_PEPPER_FALLBACKS")
OAUTH_REFRESH_GRACE_SECONDS = env_int("OAUTH_REFRESH_GRACE_SECONDS", 5)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [APP_BASE_URL])
# How many reverse proxies in front of us append to X-Forwarded-For; 0 = trust none.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's sessions and passkey pages load it
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.usersessions",
    "allauth.mfa",
    "anymail",
    "accounts",
    "oauth",
    "federation",
    "notifications",
    "webhooks",
    "audit",
    # Last: the project package as an app, for its system checks (identity/checks.py) and
    # commands (rotate_encryption_key); it has no models.
    "identity.apps.IdentityConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Our 404 page (the API: its JSON envelope) for a view's Http404, DEBUG or not.
    "identity.error_views.NotFoundMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Projects' idle/absolute session limits, checked before the session counts as seen.
    "accounts.middleware.SessionTimeoutMiddleware",
    # Members of a project that requires a second factor set one up before anything else.
    "accounts.middleware.MfaEnrolmentMiddleware",
    # Browser sessions as records (My account -> Sessions; the `sid` of tokens and logout).
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "identity.middleware.SecurityHeadersMiddleware",
    # Innermost, so its 400s carry the headers: a NUL in the query string never reaches a query.
    "identity.request_guards.RefuseNulBytesMiddleware",
]

if PRODUCTION:  # whitenoise serves the collected /static/ (the Dockerfile runs collectstatic)
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "identity.urls"
WSGI_APPLICATION = "identity.wsgi.application"
ASGI_APPLICATION = "identity.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.portal",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
    # Behind PgBouncer in transaction pooling mode a cursor must not outlive its transaction:
    # server-side cursors (QuerySet.iterator()) off (docs/DEPLOYMENT.md, "PostgreSQL connections").
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False)
else:
    SQLITE_PATH = Path(env_str("SQLITE_PATH", str(BASE_DIR / "var" / "db.sqlite3")))
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/ yet
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(SQLITE_PATH)}}
# The hot paths' few statements are prepared once per connection (identity/db.py); off behind a
# PgBouncer older than 1.21 in transaction pooling mode (docs/DEPLOYMENT.md).
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
if DB_PREPARED_STATEMENTS and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # psycopg prepares nothing while the threshold is None (Django's default), even on request;
    # this one is never reached by counting, so only identity/db.py's statements are prepared.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery (Redis when REDIS_URL is set, in-process otherwise) -----
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "identity.cache.RedisCache",  # Django's, with its clients reused
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# At-least-once delivery: a task is acknowledged only after it ran, a task whose
# worker died is re-queued, and a worker holds one unacknowledged task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Never let a web request hang on a broker that is down: publishing gives up fast.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "relay-outbox": {
        "task": "notifications.tasks.relay_outbox",
        "schedule": env_int("OUTBOX_RELAY_SECONDS", 30),
    },
    "clear-expired-tokens": {"task": "oauth.tasks.clear_expired_tokens", "schedule": 3600},
    "purge-audit-events": {"task": "audit.tasks.purge_audit_events", "schedule": 24 * 3600},
    "purge-outbox": {"task": "notifications.tasks.purge_outbox", "schedule": 24 * 3600},
    "purge-webhook-records": {"task": "webhooks.tasks.purge_webhook_records", "schedule": 24 * 3600},
}
# Retention in days (0 = keep everything): audit events, outbox messages in a final state, and
# the webhook inbox + outbound delivery log in a final state.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 0)
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 0)
WEBHOOK_RETENTION_DAYS = env_int("WEBHOOK_RETENTION_DAYS", 0)

# --- Auth ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2id first, at OWASP's minimum (m=19 MiB, t=2, p=1; accounts/hashers.py says why not Django's
# m=100 MiB, p=8); tests/identity/test_settings.py keeps it at or above that minimum.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    # Only for OAuth client secrets (high-entropy, see oauth/hashers.py); never chosen for passwords.
    "oauth.hashers.KeyedSHA256SecretHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Passwords (docs/SECURITY.md, "Passwords"): at least PASSWORD_MIN_LENGTH characters (ASVS V6.2.1:
# 12 or more), not like the account's address, not all digits, and not in the list of breached
# passwords that ships with the project (accounts/passwords.py; no network).
PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 12)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.BreachedPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: email + password, no usernames, no open sign-up (see accounts/adapters.py).
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# Mandatory: a sign-up cannot sign in (or get tokens) before confirming its address, and a
# sign-up with a taken address looks exactly like a new one (no enumeration). Invited users
# verify by opening their set-password link.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "signup": "20/m/ip",
}
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # no email to unknown addresses: same answer, nothing sent
ACCOUNT_EMAIL_NOTIFICATIONS = True  # "your password was changed" notices (through the outbox)
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# A password sign-in or reset for an address whose domain a `required` provider routes is
# refused with how to sign in instead (federation/forms.py).
USERSESSIONS_TRACK_ACTIVITY = True  # last seen and IP of every session; records for any sign-in path

# allauth mfa: authenticator apps (TOTP), passkeys / security keys (WebAuthn) and recovery codes,
# enrolled in My account -> Two-factor authentication; asked for at sign-in; passkeys may also
# sign in without a password. Projects may require a factor (Project.mfa_required,
# accounts/middleware.py + oauth/rules.py); clients may ask for it with acr_values (step-up).
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
# A passkey sign-in counts as two factors (possession + the device's PIN or biometric), so the
# authenticator must verify the user.
MFA_WEBAUTHN_USER_VERIFICATION = "required"
# WebAuthn needs a secure origin; http://localhost is one for browsers, other plain-http
# origins only outside production (tests, `make run` on another host name).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Identity Portal")
MFA_TRUST_ENABLED = False  # no "trust this browser": every sign-in asks for the second factor
# The code steps count failures like the password step (accounts/forms_mfa.py, lockout scope "mfa").
MFA_FORMS = {
    "authenticate": "accounts.forms_mfa.GuardedAuthenticateForm",
    "reauthenticate": "accounts.forms_mfa.GuardedReauthenticateForm",
}

ACCOUNT_FORMS = {
    "login": "federation.forms.LoginForm",
    "reset_password": "federation.forms.ResetPasswordForm",
    # Pages that set a password: the strength meter and its "Check strength" button.
    "signup": "accounts.password_forms.SignupForm",
    "change_password": "accounts.password_forms.ChangePasswordForm",
    "set_password": "accounts.password_forms.AllauthSetPasswordForm",
    "reset_password_from_key": "accounts.password_forms.ResetPasswordKeyForm",
}

# allauth socialaccount: upstream OpenID providers are the projects' IdentityProvider rows,
# listed per request by federation/adapters.py (no SocialApp rows, no settings-defined apps).
# Who an identity belongs to is decided there (match, link, provision or refuse), never by
# allauth's auto sign-up or email authentication.
SOCIALACCOUNT_ADAPTER = "federation.adapters.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the provider's email_verified claim decides (federation/flows)
SOCIALACCOUNT_LOGIN_ON_GET = False  # a sign-in starts with a POST (CSRF), never a cross-site link
SOCIALACCOUNT_STORE_TOKENS = False  # upstream tokens are not kept
FEDERATION_HTTP_TIMEOUT_SECONDS = env_int("FEDERATION_HTTP_TIMEOUT_SECONDS", 5)
SOCIALACCOUNT_REQUESTS_TIMEOUT = FEDERATION_HTTP_TIMEOUT_SECONDS
# Whether anyone may create an account; projects may additionally opt in (Project.allow_self_signup).
# The accent colour of pages and emails of projects that chose none (and of the deployment's own).
DEFAULT_BRAND_COLOR = env_str("DEFAULT_BRAND_COLOR", "#1f5fbf")
SIGNUP_OPEN = env_bool("SIGNUP_OPEN", False)
SIGNUP_CREATES_PROJECT = env_bool("SIGNUP_CREATES_PROJECT", True)
INVITE_LINK_TTL_SECONDS = env_int("INVITE_LINK_TTL_SECONDS", 7 * 24 * 3600)
# A bulk-invite job without progress for this long is published again by the relay (worker died,
# or the broker was down when it was queued).
BULK_INVITE_STALL_SECONDS = env_int("BULK_INVITE_STALL_SECONDS", 120)
BULK_INVITE_MAX_RESUMES = env_int("BULK_INVITE_MAX_RESUMES", 5)
RESET_LINK_TTL_SECONDS = env_int("RESET_LINK_TTL_SECONDS", 3600)
# Brute-force protection (accounts/services/lockout.py, docs/SECURITY.md), on top of allauth's
# rate limits: per account (and OAuth client, set-password link) and per IP, failures in a sliding
# window; after the free ones each failure makes the next attempt wait (1 s, 2 s, 4 s, … up to the
# max; base 0 = no delays), at the threshold the key is locked. Counters live in the cache (Redis).
LOCKOUT_THRESHOLD = env_int("LOCKOUT_THRESHOLD", 10)
LOCKOUT_FREE_FAILURES = env_int("LOCKOUT_FREE_FAILURES", 3)
LOCKOUT_IP_THRESHOLD = env_int("LOCKOUT_IP_THRESHOLD", 50)
LOCKOUT_IP_FREE_FAILURES = env_int("LOCKOUT_IP_FREE_FAILURES", 15)
LOCKOUT_WINDOW_SECONDS = env_int("LOCKOUT_WINDOW_SECONDS", 15 * 60)
LOCKOUT_DURATION_SECONDS = env_int("LOCKOUT_DURATION_SECONDS", 15 * 60)
LOCKOUT_DELAY_BASE_SECONDS = env_int("LOCKOUT_DELAY_BASE_SECONDS", 1)
LOCKOUT_DELAY_MAX_SECONDS = env_int("LOCKOUT_DELAY_MAX_SECONDS", 60)
LOCKOUT_CLEAR_REUSE_SECONDS = env_int("LOCKOUT_CLEAR_REUSE_SECONDS", 1)

# --- Sessions, cookies and headers -------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
if PRODUCTION:  # __Host- cookies: HTTPS only, this host only, path / (ASVS V3.3.1)
    SESSION_COOKIE_NAME = "__Host-session"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin: nothing (no path, no secret link) leaks to other sites, while our own form posts
# keep a real Origin header for CSRF checks ("no-referrer" makes browsers send Origin: null).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP inside the network
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if not PRODUCTION else 31536000)
# No script reads the CSRF cookie (forms carry the token; the API docs page gets it rendered in),
# so scripts may not read it either. Lax, like the session cookie: OAuth redirects from clients'
# sites are top-level navigations that must carry the session.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# Browser security headers (identity/middleware.py, docs/SECURITY.md). COOP: our pages share no
# window with other sites' pages (a client that opens sign-in in a pop-up gets no window.opener
# back; "same-origin-allow-popups" or "unsafe-none" would allow it). CORP: no other site may embed
# our responses (no-cors); CORS fetches are not affected.
SECURE_CROSS_ORIGIN_OPENER_POLICY = env_str("SECURE_CROSS_ORIGIN_OPENER_POLICY", "same-origin")
CROSS_ORIGIN_RESOURCE_POLICY = env_str("CROSS_ORIGIN_RESOURCE_POLICY", "same-origin")
if PRODUCTION:  # static files answer before the middleware: WhiteNoise adds the same headers
    from identity.middleware import static_file_headers

    WHITENOISE_ADD_HEADERS_FUNCTION = static_file_headers
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Outbound webhooks -----------------------------------------------------------
# Let event subscriptions target private, loopback and link-local addresses (tests, on-premise
# installs). Off: refused when saved and again when connecting (docs/WEBHOOKS.md).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)

# --- Email ---------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 6)
OUTBOX_BACKOFF_BASE_SECONDS = float(env_str("OUTBOX_BACKOFF_BASE_SECONDS", "10"))
OUTBOX_BACKOFF_MAX_SECONDS = float(env_str("OUTBOX_BACKOFF_MAX_SECONDS", "600"))
OUTBOX_SENDING_TIMEOUT_SECONDS = env_int("OUTBOX_SENDING_TIMEOUT_SECONDS", 300)
# Show rendered messages (with their set-password links) to project admins in the outbox page.
OUTBOX_PREVIEW_ENABLED = env_bool("OUTBOX_PREVIEW_ENABLED", DEBUG)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 15)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Identity Portal <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Any anymail ESP is configured by ANYMAIL_* variables, e.g. ANYMAIL_POSTMARK_SERVER_TOKEN.
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in __import__("os").environ.items()
    if key.startswith("ANYMAIL_") and value
}

# --- REST API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oauth2_provider.contrib.rest_framework.OAuth2Authentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_permissions.PortalAccess"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "identity.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "identity.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Identity Portal API",
    "DESCRIPTION": (
        "Projects, memberships and access policies. Authenticate with a session cookie "
        "(the portal) or an OAuth 2.0 bearer token issued by this server. Every error has the "
        'shape {"error": {"code": str, "message": str, "fields": {field: [messages]}}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files (no CDN), split so CSP needs no inline script.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ClientRoleEnum": "oauth.models.ClientRole",
        "MembershipRoleEnum": "accounts.models.Role",
        "SigningAlgorithmEnum": "oauth.constants.SigningAlgorithm",
    },
}

# --- OAuth 2.0 / OIDC provider (django-oauth-toolkit) ---------------------------
# Swappable models decided before the first migration: every DOT model lives in `oauth`.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth.Client"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth.Grant"
OAUTH2_PROVIDER = {
    "APPLICATION_ADMIN_CLASS": "oauth.admin.ClientAdmin",
    "OAUTH2_VALIDATOR_CLASS": "oauth.validators.Validator",
    "OIDC_SERVER_CLASS": "oauth.server.Server",
    "OAUTH2_SERVER_CLASS": "oauth.server.Server",
    "SCOPES_BACKEND_CLASS": "oauth.scopes.Scopes",
    "ACCESS_TOKEN_GENERATOR": "oauth.tokens.generate_access_token",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "CLIENT_SECRET_HASHER": "keyed_sha256",
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": ISSUER_URL,  # RFC 9207 `iss` = discovery issuer, whatever Host header came in
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    # RP-initiated logout (oauth/views_logout.py): no prompt only with a valid id_token_hint of
    # the signed-in user's session; expired hints count. DOT deletes none of the user's tokens:
    # Django's logout ends the session record, which revokes that session's tokens (accounts ->
    # session_ended -> oauth). post_logout_redirect_uris follow our redirect-URI rule instead of
    # DOT's "strict" one (http only for confidential clients).
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": False,
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": list(GrantType.values),
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "ID_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # DOT's grace period needs plaintext tokens; ours (OAUTH_REFRESH_GRACE_SECONDS) works with hashes.
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "PKCE_REQUIRED": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],  # http only for loopback: oauth/services.py
    "ALLOW_URI_WILDCARDS": False,
    "SCOPES": {},
    "DEFAULT_SCOPES": ["openid"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# --- Static files, i18n, logging ------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # DOT logs request bodies (client secrets, codes) at DEBUG; keep it at INFO or above.
    "loggers": {
        "oauthlib": {"level": "WARNING"},
        "oauth2_provider": {"level": "INFO"},
    },
}
