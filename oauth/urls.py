from django.urls import path

from oauth import views

app_name = "oauth"

urlpatterns = [
    path("authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("token/", views.token_view, name="token"),
    path("userinfo/", views.userinfo_view, name="userinfo"),
    path("introspect/", views.cors(views.IntrospectView.as_view()), name="introspect"),
    path("revoke/", views.cors(views.RevokeView.as_view()), name="revoke"),
    path("jwks/", views.jwks_view, name="jwks"),
]
