from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from identity.clock import clock
from oauth.models import AccessToken, Client, Consent, LogoutNotice, RefreshToken


def consent_covers(*, user, client: Client, scopes: list[str]) -> bool:
    consent = Consent.objects.filter(user=user, client=client).first()
    return consent is not None and consent.covers(scopes)


def connected_apps(*, user) -> list[dict]:
    """Clients that hold a consent or live tokens for `user`."""
    now = clock.now()
    client_ids = set(Consent.objects.filter(user=user).values_list("client_id", flat=True))
    client_ids |= set(
        AccessToken.objects.filter(user=user, expires__gt=now).values_list("application_id", flat=True)
    )
    client_ids |= set(
        RefreshToken.objects.filter(user=user, revoked__isnull=True).values_list("application_id", flat=True)
    )
    consents = {c.client_id: c for c in Consent.objects.filter(user=user)}
    apps = []
    for client in Client.objects.filter(pk__in=client_ids).select_related("project").order_by("name"):
        consent = consents.get(client.pk)
        apps.append(
            {
                "client": client,
                "scopes": consent.scopes.split() if consent else [],
                "granted_at": consent.granted_at if consent else None,
            }
        )
    return apps


def connected_app_get(*, user, client_id: str) -> Client:
    for app in connected_apps(user=user):
        if app["client"].client_id == client_id:
            return app["client"]
    raise Http404("No such connected app.")


def client_list(*, project, query: str = "", status: str = "") -> QuerySet[Client]:
    now = clock.now()
    qs = Client.objects.filter(project=project).annotate(
        active_tokens=Count("accesstoken", filter=Q(accesstoken__expires__gt=now), distinct=True)
    )
    if query.strip():
        qs = qs.filter(Q(name__icontains=query.strip()) | Q(client_id__icontains=query.strip()))
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "disabled":
        qs = qs.filter(is_active=False)
    return qs.order_by("name")


def client_counts(*, project) -> dict[str, int]:
    """How many clients `project` has, active and disabled: one query (the overview page)."""
    return Client.objects.filter(project=project).aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(is_active=True)),
        disabled=Count("pk", filter=Q(is_active=False)),
    )


def client_get(*, project, client_pk) -> Client:
    try:
        return Client.objects.get(project=project, pk=client_pk)
    except (Client.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such client.") from exc


def client_logout_notices(*, client: Client, limit: int = 20) -> list[LogoutNotice]:
    """The client's latest back-channel logout notices, newest first (a failing receiver shows)."""
    return list(LogoutNotice.objects.filter(client=client).order_by("-created_at")[:limit])


def client_token_counts(*, client: Client) -> dict[str, int]:
    now = clock.now()
    return {
        "access_tokens": AccessToken.objects.filter(application=client, expires__gt=now).count(),
        "refresh_tokens": RefreshToken.objects.filter(application=client, revoked__isnull=True).count(),
    }


def session_client_names(*, sids: list[str]) -> dict[str, list[str]]:
    """For each session `sid`: the names of the client apps that got tokens in it (live or not)."""
    from oauth.models import AccessToken, RefreshToken

    names: dict[str, set[str]] = {sid: set() for sid in sids}
    for model in (AccessToken, RefreshToken):
        rows = model.objects.filter(sid__in=sids).values_list("sid", "application__name").distinct()
        for sid, name in rows:
            names[sid].add(name)
    return {sid: sorted(found) for sid, found in names.items()}
