"""Portal pages of the webhooks app (composed under /portal/, namespace `portal`, by identity/urls.py)."""

from django.urls import path

from webhooks import views, views_subscriptions

endpoints = "<slug:project_slug>/webhooks"
endpoint = f"{endpoints}/<uuid:endpoint_id>"
event = f"{endpoint}/events/<uuid:event_pk>"
subscriptions = "<slug:project_slug>/webhooks/subscriptions"
subscription = f"{subscriptions}/<uuid:subscription_id>"

urlpatterns = [
    path(f"{endpoints}/", views.EndpointListView.as_view(), name="webhooks"),
    path(f"{endpoints}/new/", views.EndpointCreateView.as_view(), name="webhook_create"),
    path(f"{subscriptions}/", views_subscriptions.SubscriptionListView.as_view(), name="event_subscriptions"),
    path(f"{subscription}/", views_subscriptions.SubscriptionDetailView.as_view(), name="event_subscription"),
    path(
        f"{subscription}/secret/",
        views_subscriptions.SubscriptionSecretView.as_view(),
        name="event_subscription_secret",
    ),
    path(
        f"{subscription}/rotate-secret/",
        views_subscriptions.SubscriptionRotateSecretView.as_view(),
        name="event_subscription_rotate_secret",
    ),
    path(
        f"{subscription}/delete/",
        views_subscriptions.SubscriptionDeleteView.as_view(),
        name="event_subscription_delete",
    ),
    path(
        f"{subscription}/deliveries/<uuid:delivery_id>/replay/",
        views_subscriptions.DeliveryReplayView.as_view(),
        name="event_delivery_replay",
    ),
    path(f"{endpoint}/", views.EndpointDetailView.as_view(), name="webhook"),
    path(f"{endpoint}/secret/", views.EndpointSecretView.as_view(), name="webhook_secret"),
    path(
        f"{endpoint}/rotate-secret/", views.EndpointRotateSecretView.as_view(), name="webhook_rotate_secret"
    ),
    path(f"{endpoint}/delete/", views.EndpointDeleteView.as_view(), name="webhook_delete"),
    path(f"{event}/", views.EventDetailView.as_view(), name="webhook_event"),
    path(f"{event}/replay/", views.EventReplayView.as_view(), name="webhook_event_replay"),
]
