from django.urls import path

from oauth import views, views_logout

app_name = "oauth"

urlpatterns = [
    path("authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("token/", views.token_view, name="token"),
    path("userinfo/", views.userinfo_view, name="userinfo"),
    path("introspect/", views.cors(views.IntrospectView.as_view()), name="introspect"),
    path("revoke/", views.cors(views.RevokeView.as_view()), name="revoke"),
    path("jwks/", views.jwks_view, name="jwks"),
    # OpenID RP-Initiated Logout 1.0 (the discovery document's end_session_endpoint)
    path("logout/", views_logout.LogoutView.as_view(), name="logout"),
    path("logout/done/", views_logout.logged_out, name="logged_out"),
]
