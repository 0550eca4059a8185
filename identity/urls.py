"""The root URL map: the one place where apps' URL lists are composed.

Each app owns its lists: `<app>/portal_urls.py` (portal pages, mounted under /portal/ in the
`portal` namespace), `<app>/api_urls.py` (REST API, under /api/v1/, composed by
identity/api_urls.py) and its own top-level routes. Only this module and identity/api_urls.py
import app modules from identity (tests/identity/test_import_rules.py).
"""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import portal_urls as accounts_portal
from accounts.views_mfa import EnrolmentContinueView, EnrolmentRequiredView
from accounts.views_public import SetPasswordView, brand_stylesheet
from federation import portal_urls as federation_portal
from federation.views_sign_in import EmailFirstLoginView, IdentityUnlinkView, SignInMethodsView
from identity import health
from oauth import portal_urls as oauth_portal
from oauth import views as oauth_views
from oauth import views_sessions as oauth_sessions
from webhooks import portal_urls as webhooks_portal

# One list in one namespace (several includes of one namespace would make `reverse` ambiguous).
portal_urlpatterns = [
    *accounts_portal.urlpatterns,
    *oauth_portal.urlpatterns,
    *federation_portal.urlpatterns,
    *webhooks_portal.urlpatterns,
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:home", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Browsers ask for /favicon.ico whatever the page says; the icon is a static file.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.ico"), permanent=True)),
    re_path(
        r"^setpassword/(?P<request_id>[0-9a-f-]{36})/(?P<secret>[A-Za-z0-9_-]{20,100})/?$",
        SetPasswordView.as_view(),
        name="set_password",
    ),
    # Before allauth's routes: the email-first sign-in replaces allauth's login page.
    path("accounts/login/", EmailFirstLoginView.as_view(), name="account_login"),
    # allauth's connections page would unlink without our rule and audit: ours replaces it.
    path(
        "accounts/3rdparty/",
        RedirectView.as_view(pattern_name="sign_in_methods"),
        name="socialaccount_connections",
    ),
    path("accounts/", include("allauth.urls")),
    path("anymail/", include("notifications.urls")),  # anymail's ESP webhooks; unconfigured ones: 404
    path("portal/", include((portal_urlpatterns, "portal"))),
    path("api/v1/", include("identity.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Our template: drf-spectacular's without its inline <style> (the CSP allows none).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("o/", include("oauth.urls")),
    path("webhooks/", include("webhooks.urls")),
    path(".well-known/openid-configuration", oauth_views.openid_configuration, name="openid-configuration"),
    path(".well-known/smart-configuration", oauth_views.smart_configuration, name="smart-configuration"),
    path("smart-style.json", oauth_views.smart_style, name="smart-style"),
    path(
        ".well-known/oauth-authorization-server",
        oauth_views.authorization_server_metadata,
        name="oauth-metadata",
    ),
    path("account/connected-apps/", oauth_views.ConnectedAppsView.as_view(), name="connected_apps"),
    path(
        "account/connected-apps/<str:client_id>/remove/",
        oauth_views.ConnectedAppRemoveView.as_view(),
        name="connected_app_remove",
    ),
    path("account/sessions/", oauth_sessions.SessionsView.as_view(), name="sessions"),
    path(
        "account/sessions/end-others/",
        oauth_sessions.SessionsEndOthersView.as_view(),
        name="sessions_end_others",
    ),
    path("account/sessions/<str:sid>/end/", oauth_sessions.SessionEndView.as_view(), name="session_end"),
    path("account/sign-in-methods/", SignInMethodsView.as_view(), name="sign_in_methods"),
    path(
        "account/sign-in-methods/<int:identity_id>/unlink/",
        IdentityUnlinkView.as_view(),
        name="identity_unlink",
    ),
    path("brand/<slug:slug>.css", brand_stylesheet, name="brand_stylesheet"),
    path("account/two-factor/required/", EnrolmentRequiredView.as_view(), name="mfa_enrolment_required"),
    path("account/two-factor/continue/", EnrolmentContinueView.as_view(), name="mfa_enrolment_continue"),
    path("admin/", admin.site.urls),
]

handler404 = "identity.error_views.not_found"
handler500 = "identity.error_views.server_error"
