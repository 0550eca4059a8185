"""Routes of the inbound webhooks REST API (mounted under /api/v1/ by identity/api_urls.py)."""

from django.urls import path

from webhooks import api, api_subscriptions

project = "projects/<uuid:project_id>"
endpoint = f"{project}/webhook-endpoints/<uuid:endpoint_id>"
event = f"{endpoint}/events/<uuid:event_pk>"
subscription = f"{project}/event-subscriptions/<uuid:subscription_id>"

urlpatterns = [
    path(f"{project}/webhook-endpoints/", api.EndpointListCreateApi.as_view(), name="api-webhook-endpoints"),
    path(f"{endpoint}/", api.EndpointDetailApi.as_view(), name="api-webhook-endpoint"),
    path(
        f"{endpoint}/rotate-secret/",
        api.EndpointRotateSecretApi.as_view(),
        name="api-webhook-endpoint-rotate",
    ),
    path(f"{endpoint}/events/", api.EventListApi.as_view(), name="api-webhook-events"),
    path(f"{event}/", api.EventDetailApi.as_view(), name="api-webhook-event"),
    path(f"{event}/replay/", api.EventReplayApi.as_view(), name="api-webhook-event-replay"),
    path(
        f"{project}/event-subscriptions/",
        api_subscriptions.SubscriptionListCreateApi.as_view(),
        name="api-event-subscriptions",
    ),
    path(
        f"{subscription}/", api_subscriptions.SubscriptionDetailApi.as_view(), name="api-event-subscription"
    ),
    path(
        f"{subscription}/rotate-secret/",
        api_subscriptions.SubscriptionRotateSecretApi.as_view(),
        name="api-event-subscription-rotate",
    ),
    path(
        f"{subscription}/deliveries/",
        api_subscriptions.DeliveryListApi.as_view(),
        name="api-event-deliveries",
    ),
    path(
        f"{subscription}/deliveries/<uuid:delivery_id>/replay/",
        api_subscriptions.DeliveryReplayApi.as_view(),
        name="api-event-delivery-replay",
    ),
]
