"""Included by allauth (allauth/urls.py includes each provider package's `urls`), under /accounts/."""

from django.urls import include, path

from federation.upstream import views

urlpatterns = [
    path(
        "oidc/<str:provider_id>/",
        include(
            [
                path("login/", views.login, name="oidc_login"),
                path("login/callback/", views.callback, name="oidc_callback"),
            ]
        ),
    )
]
